//! Operations: plain HTTP endpoints, room lifetime, graceful shutdown.

use std::time::Duration;

use crate::support::{config, eventually, sample, start};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn healthz_and_rooms() {
    let server = start(config()).await;
    assert_eq!(
        server.get("/healthz").await,
        (200, r#"{"status":"ok"}"#.to_owned())
    );
    assert_eq!(server.get("/rooms").await, (200, "[]".to_owned()));

    let (_a, _) = server.protocol("/broadcast/realm?scene=football").await;
    let _b = server.plain("/broadcast/realm").await;
    let _c = server.plain("/chat?scene=relay").await;
    let s = &server;
    let rooms = eventually(
        "both rooms listed with their clients, the physics room ticking",
        || async move {
            let (status, body) = s.get("/rooms").await;
            assert_eq!(status, 200);
            let rooms: Value = serde_json::from_str(&body).unwrap();
            let listed = rooms[0]["clients"] == 2 && rooms[1]["clients"] == 1;
            (listed && rooms[0]["tick"].as_u64() > Some(0)).then_some(rooms)
        },
    )
    .await;
    let rooms = rooms.as_array().unwrap();
    assert_eq!(rooms.len(), 2);
    assert_eq!(rooms[0]["room"], "/broadcast/realm");
    assert_eq!(rooms[0]["scene"], "football");
    assert_eq!(rooms[0]["clients"], 2);
    assert!(rooms[0]["tick"].as_u64().unwrap() > 0);
    assert_eq!(
        rooms[1],
        json!({"room":"/chat","scene":"relay","clients":1,"tick":0})
    );

    let (status, _) = server.get("/elsewhere").await;
    assert_eq!(status, 426);
    server.stop().await;
}

#[tokio::test]
async fn an_empty_room_lingers_then_closes() {
    let mut cfg = config();
    cfg.room_linger = Duration::from_millis(600);
    let server = start(cfg).await;
    let c = server.plain("/brief").await;
    drop(c);
    let s = &server;
    // Left, and still listed: the room lingers (600 ms) with no client.
    eventually("the room listed with no client", || async move {
        let rooms: Value = serde_json::from_str(&s.get("/rooms").await.1).unwrap();
        (rooms[0]["room"] == "/brief" && rooms[0]["clients"] == 0).then_some(())
    })
    .await;
    eventually("the room closed after its linger", || async move {
        (s.get("/rooms").await.1 == "[]").then_some(())
    })
    .await;
    // Joining again creates a fresh room.
    let (_c, welcome) = server.protocol("/brief").await;
    assert!(welcome["tick"].as_u64().unwrap() < 10);
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_closes_every_client_and_returns() {
    let server = start(config()).await;
    let (mut a, _) = server.protocol("/one").await;
    let mut b = server.plain("/two").await;
    let addr = server.addr;
    let stop = tokio::spawn(server.stop());
    for c in [&mut a, &mut b] {
        let close = c.expect_close().await.expect("close frame");
        assert_eq!(close.code, CloseCode::Away);
        assert_eq!(close.reason.as_str(), "server shutting down");
    }
    stop.await.unwrap();
    // The listener is gone.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn metrics_expose_the_series_and_they_move() {
    let server = start(config()).await;
    let (mut c, _) = server.protocol("/metered").await;
    let mut plain = server.plain("/metered").await;
    plain.send_text("hello").await;
    plain.next().await;
    c.send_json(json!({"type":"kick","ball":9,"impulse":[1,0,0]}))
        .await;
    c.recv_type("error").await;
    c.send_json(json!({"type":"snapshot"})).await;
    c.recv_type("error").await;
    c.recv_type("snapshot").await;

    let s = &server;
    let body = eventually("ten ticks recorded", || async move {
        let (status, body) = s.get("/metrics").await;
        assert_eq!(status, 200);
        let ticks = sample(&body, "ballroom_tick_duration_seconds_count", "");
        ticks.is_some_and(|t| t >= 10.0).then_some(body)
    })
    .await;
    for name in [
        "ballroom_connections",
        "ballroom_connections_total",
        "ballroom_rooms",
        "ballroom_messages_in_total",
        "ballroom_messages_out_total",
        "ballroom_bytes_in_total",
        "ballroom_bytes_out_total",
        "ballroom_tick_duration_seconds_bucket",
        "ballroom_tick_lateness_seconds_bucket",
        "ballroom_snapshot_fanout_seconds_bucket",
        "ballroom_rejected_total",
        "ballroom_tokio_tasks",
    ] {
        assert!(sample(&body, name, "").is_some(), "{name} missing:\n{body}");
    }
    // Values move with what we just did (the recorder is process-wide, so at least).
    assert!(sample(&body, "ballroom_connections", "").unwrap() >= 2.0);
    assert!(sample(&body, "ballroom_messages_in_total", "kind=\"relay\"").unwrap() >= 1.0);
    assert!(sample(&body, "ballroom_rejected_total", "reason=\"unknown_ball\"").unwrap() >= 1.0);
    assert!(sample(&body, "ballroom_rejected_total", "reason=\"reserved_type\"").unwrap() >= 1.0);
    // The accept loop, a room task and two clients' reader and writer tasks at least.
    assert!(sample(&body, "ballroom_tokio_tasks", "").unwrap() >= 6.0);
    let ticks = sample(&body, "ballroom_tick_duration_seconds_count", "").unwrap();
    assert!(ticks >= 10.0, "{ticks}");
    eventually("the tick count moves on", || async move {
        let (_, later) = s.get("/metrics").await;
        let now = sample(&later, "ballroom_tick_duration_seconds_count", "").unwrap();
        (now > ticks).then_some(())
    })
    .await;
    drop(plain);
    eventually("the dropped client's disconnect counted", || async move {
        let (_, after) = s.get("/metrics").await;
        let counted = |reason: &str| {
            sample(
                &after,
                "ballroom_disconnects_total",
                &format!("reason=\"{reason}\""),
            )
            .is_some()
        };
        (counted("gone") || counted("client_closed")).then_some(())
    })
    .await;
    server.stop().await;
}
