//! Operations: plain HTTP endpoints, room lifetime, graceful shutdown.

use std::time::Duration;

use crate::support::{config, sample, start};
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = server.get("/rooms").await;
    assert_eq!(status, 200);
    let rooms: Value = serde_json::from_str(&body).unwrap();
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
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, body) = server.get("/rooms").await;
    let rooms: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rooms[0]["room"], "/brief", "still lingering: {body}");
    assert_eq!(rooms[0]["clients"], 0);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(server.get("/rooms").await.1, "[]");
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
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, 200);
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, later) = server.get("/metrics").await;
    assert!(sample(&later, "ballroom_tick_duration_seconds_count", "").unwrap() > ticks);
    drop(plain);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, after) = server.get("/metrics").await;
    assert!(
        sample(&after, "ballroom_disconnects_total", "reason=\"gone\"").is_some()
            || sample(
                &after,
                "ballroom_disconnects_total",
                "reason=\"client_closed\""
            )
            .is_some()
    );
    server.stop().await;
}
