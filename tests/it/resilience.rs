//! A panic inside one room's simulation is contained: that room's clients are told and
//! closed, every other room keeps ticking, and the room name can be joined afresh.

use crate::support::{config, eventually, scene_assets, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// `kickballs`, set to panic at tick 30 (half a second in).
fn fragile_assets() -> std::path::PathBuf {
    scene_assets("kickballs", "fragile", |s| {
        s["fault_panic_at_tick"] = json!(30)
    })
}

#[tokio::test]
async fn a_room_panic_is_contained() {
    let mut cfg = config();
    cfg.assets = Some(fragile_assets());
    let server = start(cfg).await;
    let (mut a, _) = server.protocol("/fragile?scene=fragile").await;
    let mut b = server.plain("/fragile").await;
    let (mut steady, _) = server.protocol("/steady").await;

    for c in [&mut a, &mut b] {
        let err = c.recv_type("error").await;
        assert_eq!(err["code"], "room_failed");
        let close = c.expect_close().await.expect("a close frame");
        assert_eq!(close.code, CloseCode::Error);
    }
    // The other room never missed a beat.
    let after = |m: &Value| m["type"] == "snapshot" && m["tick"].as_u64().unwrap() > 40;
    let t0 = steady.recv_until(after).await["tick"].as_u64().unwrap();
    let t1 = steady.recv_type("snapshot").await["tick"].as_u64().unwrap();
    assert!(t1 > t0, "{t0} {t1}");
    // The failed room is gone; its name opens a fresh room.
    let s = &server;
    let rooms: Value = eventually("the failed room gone from /rooms", || async move {
        let rooms: Value = serde_json::from_str(&s.get("/rooms").await.1).unwrap();
        (rooms.as_array().unwrap().len() == 1).then_some(rooms)
    })
    .await;
    assert_eq!(rooms.as_array().unwrap().len(), 1, "{rooms}");
    let (_c, welcome) = server.protocol("/fragile?scene=kickballs").await;
    assert!(welcome["tick"].as_u64().unwrap() < 30);
    assert_eq!(welcome["scene"]["name"], "kickballs");
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ballroom_room_panics_total "))
    );
    server.stop().await;
}
