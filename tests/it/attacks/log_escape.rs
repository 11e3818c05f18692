//! Finding 6: log injection. A room name with a percent-encoded newline wrote a forged,
//! well-formed `ERROR` line into the log, and `%1B` wrote raw terminal escapes.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::support::{connect_to, eventually};

#[tokio::test]
async fn control_characters_in_logged_values_are_escaped() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballroom"))
        .args(["--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ballroom starts");
    let mut out = child.stdout.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let logged = || String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    let addr = eventually("the server logs its address", || {
        let text = logged();
        let addr = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .map(str::to_owned);
        std::future::ready(addr)
    })
    .await;
    let forged = "/x%0A2026-01-01T00:00:00.000000Z%20ERROR%20ballroom:%20forged%20by%20a%20client";
    let escape = "/y%1B%5B31mred%0D";
    for path in [forged, escape] {
        let c = connect_to(addr.parse().unwrap(), path, None).await;
        drop(c);
    }
    eventually("both rooms' openings logged", || {
        std::future::ready((logged().matches("room opened").count() >= 2).then_some(()))
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(text.contains("room opened"), "{text}");
    for line in text.lines() {
        assert!(
            !line.starts_with("2026-01-01T00:00:00.000000Z"),
            "a client forged a log line: {line:?}"
        );
    }
    assert!(!text.contains('\u{1b}'), "raw terminal escape in the log");
    assert!(!text.contains('\r'), "raw carriage return in the log");
    // The names are still there, escaped.
    assert!(text.contains(r"/x\n2026-01-01"), "{text}");
    assert!(
        text.contains(r"/y\x1b[31mred\r") || text.contains(r"/y\u{1b}[31mred\r"),
        "{text}"
    );
}
