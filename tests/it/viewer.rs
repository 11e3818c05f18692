//! The live viewer on `GET /`: the page, its bundle and style with their headers, and a
//! WebSocket upgrade on `/` that still joins the room `/`.

use serde_json::Value;

use crate::support::{config, start};

#[tokio::test]
async fn get_root_serves_the_page_with_a_strict_csp() {
    let server = start(config()).await;
    for path in ["/", "/?room=%2Flobby", "/?room=%2F%3Cimg%3E&scene=football"] {
        let (status, h, body) = server.request("GET", path, "").await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let csp = &h["content-security-policy"];
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self' ws: wss:"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(h["cache-control"], "no-cache");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(body.starts_with("<!doctype html>"), "{body}");
        // Relative, so the page works under a proxy's path prefix.
        assert!(body.contains(r#"src="viewer.js""#), "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_bundle_and_style_are_served_and_revalidated() {
    let server = start(config()).await;
    let (status, h, js) = server.request("GET", "/viewer.js", "").await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert!(
        js.len() > 100_000,
        "the bundle holds three.js: {} bytes",
        js.len()
    );
    assert!(h.contains_key("content-security-policy"));
    let etag = h["etag"].clone();
    let (status, _, body) = server
        .request("GET", "/viewer.js", &format!("If-None-Match: {etag}\r\n"))
        .await;
    assert_eq!((status, body.as_str()), (304, ""));

    let (status, h, css) = server.request("GET", "/viewer.css", "").await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/css; charset=utf-8");
    assert!(css.contains(".hud"));

    let (status, h, body) = server.request("HEAD", "/", "").await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(h["content-type"], "text/html; charset=utf-8");

    // Other paths are unchanged: a hint that they take WebSockets.
    let (status, _, body) = server.request("GET", "/viewer.js/x", "").await;
    assert_eq!(status, 426);
    assert!(body.contains("GET / (the live viewer)"), "{body}");
    let (status, _, _) = server.request("POST", "/", "Content-Length: 0\r\n").await;
    assert_eq!(status, 426);
    server.stop().await;
}

#[tokio::test]
async fn a_websocket_upgrade_on_root_still_joins_the_room_slash() {
    let server = start(config()).await;
    let (mut a, welcome) = server.protocol("/?scene=kickballs").await;
    assert_eq!(welcome["room"], "/");
    assert_eq!(welcome["scene"]["name"], "kickballs");
    let mut b = server.plain("/").await;
    a.send_text(r#"{"hello":"root"}"#).await;
    let relayed = b.next_json().await;
    assert_eq!(relayed["hello"], "root");
    let (status, body) = server.get("/rooms").await;
    assert_eq!(status, 200);
    let rooms: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rooms[0]["room"], "/");
    assert_eq!(rooms[0]["clients"], 2);
    server.stop().await;
}
