//! Through the tutorial's `/broadcast` prefix, forwarded whole: a physics room (a kick
//! answered with its snapshot), the viewer's page (told the directory it is under), its
//! files and the room list it fetches beside itself. The browser test of the page itself
//! behind nginx is in viewer/test/browser.test.ts.

use std::net::{IpAddr, Ipv4Addr};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::proxy::{Nginx, Socket, TUTORIAL_BLOCK};
use crate::support::{WAIT, config, http_request, start};

/// The first text message `wanted` accepts, within `WAIT` in all.
async fn next_where(ws: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    let search = async {
        loop {
            let msg = ws.next().await.expect("open").expect("no error");
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if wanted(&v) {
                    return v;
                }
            }
        }
    };
    tokio::time::timeout(WAIT, search)
        .await
        .expect("the message in time")
}

#[tokio::test]
async fn a_physics_room_and_the_viewer_work_through_the_broadcast_prefix() {
    let server = start(config()).await;
    let nginx = Nginx::start("prefix", TUTORIAL_BLOCK, server.addr, false);
    let me = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut ws = nginx
        .entry()
        .connect(
            me,
            "/broadcast/realm-1?scene=kickballs",
            Some("ballroom.v1"),
        )
        .await
        .expect("joined through nginx");
    let welcome = next_where(&mut ws, |v| v["type"] == "welcome").await;
    assert_eq!(welcome["room"], "/broadcast/realm-1", "{welcome}");
    ws.send(Message::text(
        json!({"type":"kick","ball":0,"impulse":[0,0,20],"seq":1}).to_string(),
    ))
    .await
    .unwrap();
    let me_id = welcome["client"].to_string();
    let acked = next_where(&mut ws, |v| {
        v["type"] == "snapshot" && v["acks"][&me_id] == 1
    })
    .await;
    assert!(acked["tick"].as_u64().is_some(), "{acked}");

    // The page under the prefix, told where it is; its files and room list beside it.
    let (status, headers, page) = http_request(nginx.addr, "GET", "/broadcast/", "").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        headers["content-type"].starts_with("text/html"),
        "{headers:?}"
    );
    assert!(
        page.contains(r#"<meta name="ballroom-mount" content="/broadcast/">"#),
        "{page}"
    );
    for (file, kind) in [("viewer.js", "text/javascript"), ("viewer.css", "text/css")] {
        let (status, headers, body) =
            http_request(nginx.addr, "GET", &format!("/broadcast/{file}"), "").await;
        assert_eq!(status, 200, "{file}");
        assert!(
            headers["content-type"].starts_with(kind),
            "{file}: {headers:?}"
        );
        assert!(body.len() > 100, "{file}");
    }
    let (status, _, rooms) = http_request(nginx.addr, "GET", "/broadcast/rooms", "").await;
    assert_eq!(status, 200, "{rooms}");
    let rooms: Value = serde_json::from_str(&rooms).unwrap();
    assert!(
        rooms
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["room"] == "/broadcast/realm-1"),
        "{rooms}"
    );
    drop(ws);
    drop(nginx);
    server.stop().await;
}
