//! Finding 7: `--allowed-origins 'a,'` (a trailing comma) added an empty entry that admitted
//! an empty `Origin`; a room named `/-rf` was saved as a file starting with `-`.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ServerProcess, connect_to, exited_within};

#[test]
fn an_empty_entry_in_the_origin_list_is_refused_at_start() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballroom"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--allowed-origins",
            "https://a.example,",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ballroom starts");
    let status = exited_within(&mut child, Duration::from_secs(5));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let status = status.expect("the server started with an empty origin in its list");
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("empty"), "{err}");
}

#[tokio::test]
async fn a_saved_room_file_never_starts_with_a_dash() {
    let dir = std::env::temp_dir().join(format!("ballroom-dash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = ServerProcess::start(&["--state-dir", dir.to_str().unwrap()]);
    let addr: SocketAddr = server.addr.parse().unwrap();
    for room in ["/-rf", "/", "/--help"] {
        let mut c = connect_to(
            addr,
            &format!("{room}?scene=kickballs"),
            Some("ballroom.v1"),
        )
        .await;
        c.recv_type("welcome").await;
    }
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).success());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in &names {
        assert!(
            !name.starts_with('-'),
            "a saved room file starts with `-`: {name}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
