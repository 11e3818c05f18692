//! The real binary: starts on its defaults (bar the port), serves, and exits 0 on SIGTERM.
#![cfg(unix)]

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;

#[test]
fn the_binary_serves_and_exits_cleanly_on_sigterm() {
    let mut server = support::ServerProcess::start(&[]);
    let addr = server.addr.clone();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let url = format!("ws://{addr}/walkthrough?scene=kickballs");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap();
        let text = first.unwrap().unwrap().into_text().unwrap();
        assert!(text.starts_with(r#"{"type":"welcome""#), "{text}");
    });

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
