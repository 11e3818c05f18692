//! The real binary: starts on its defaults (bar the port), serves, and exits 0 on SIGTERM.
#![cfg(unix)]

use std::time::Duration;

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

    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}
