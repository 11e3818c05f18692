//! Limits and keepalive: each limit is enforced with its reason, and nobody else notices.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::support::{config, eventually, scene_assets, start};
use ballroom::config::Mode;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn max_connections_answers_503_and_frees_on_leave() {
    let mut cfg = config();
    cfg.max_connections = 2;
    let server = start(cfg).await;
    let a = server.plain("/full").await;
    let mut b = server.plain("/full").await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("full (2 connections)"), "{body}");
    drop(a);
    let s = &server;
    eventually(
        "the server sees a leave and is no longer full",
        || async move { (s.get("/healthz").await.0 == 200).then_some(()) },
    )
    .await;
    let mut c = server.plain("/full").await;
    c.send_text("still works").await;
    assert_eq!(b.next().await, Message::text("still works"));
    server.stop().await;
}

#[tokio::test]
async fn max_rooms_and_max_clients_per_room_refuse_with_1013() {
    let mut cfg = config();
    cfg.max_rooms = 1;
    cfg.max_clients_per_room = 2;
    let server = start(cfg).await;
    let mut a = server.plain("/only").await;
    let _b = server.plain("/only").await;

    let mut third = server.plain("/only").await;
    assert_eq!(third.next_json().await["code"], "room_full");
    let close = third.expect_close().await.unwrap();
    assert_eq!(close.code, CloseCode::Again);
    assert!(
        close.reason.contains("full (2 clients)"),
        "{}",
        close.reason
    );

    let mut other = server.plain("/another").await;
    assert_eq!(other.next_json().await["code"], "too_many_rooms");
    assert_eq!(other.expect_close().await.unwrap().code, CloseCode::Again);

    // The members never noticed.
    a.send_text("hi").await;
    assert_eq!(a.next().await, Message::text("hi"));
    server.stop().await;
}

/// The drop-in takes a stadium: `--mode broadcast` with every other flag at its default
/// lets 1,000 plain clients into one room, and a message reaches all of them. They come
/// from 20 loopback addresses, 50 each, as a stadium's do from many: one address is held
/// to `--max-connections-per-ip` (256) and `--handshake-burst` (100).
#[tokio::test]
async fn a_broadcast_room_takes_a_thousand_plain_clients_with_default_flags() {
    // Two descriptors per client in this one process (client and server ends).
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut cfg = config();
    cfg.mode = Mode::Broadcast;
    // Direct clients: loopback peers counted as themselves, not as a trusted proxy's.
    cfg.trusted_proxies = ballroom::config::ProxyNets::none();
    let server = start(cfg).await;
    let mut clients = Vec::with_capacity(1000);
    for i in 0..1000u32 {
        let from = Ipv4Addr::new(127, 0, 0, 2 + (i / 50) as u8);
        clients.push(server.plain_from(from.into(), "/stadium").await);
    }
    clients[999].send_text("kick-off").await;
    for c in &mut clients {
        assert_eq!(c.next().await, Message::text("kick-off"));
    }
    let rooms: Value = serde_json::from_str(&server.get("/rooms").await.1).unwrap();
    assert_eq!(rooms[0]["clients"], 1000, "{rooms}");
    server.stop().await;
}

/// A scene's `max_clients` caps its rooms below `--max-clients-per-room`.
#[tokio::test]
async fn a_scene_sets_its_own_cap() {
    let mut cfg = config();
    cfg.assets = Some(scene_assets("kickballs", "duel", |s| {
        s["max_clients"] = json!(2)
    }));
    let server = start(cfg).await;
    let (_a, welcome) = server.protocol("/duel?scene=duel").await;
    assert_eq!(welcome["scene"]["max_clients"], 2);
    let _b = server.plain("/duel").await;
    let mut third = server.plain("/duel").await;
    assert_eq!(third.next_json().await["code"], "room_full");
    let close = third.expect_close().await.unwrap();
    assert!(
        close.reason.contains("full (2 clients)"),
        "{}",
        close.reason
    );
    // Other rooms keep the server's cap.
    let _c = server.plain("/open").await;
    let _d = server.plain("/open").await;
    let mut e = server.plain("/open").await;
    e.send_text("third is in").await;
    assert_eq!(e.next().await, Message::text("third is in"));
    server.stop().await;
}

#[tokio::test]
async fn a_long_room_name_is_refused() {
    let mut cfg = config();
    cfg.max_room_name = 8;
    let server = start(cfg).await;
    let mut c = server.plain("/123456789").await;
    let err = c.next_json().await;
    assert_eq!(err["code"], "bad_room");
    assert!(err["message"].as_str().unwrap().contains("at most 8 bytes"));
    assert_eq!(c.expect_close().await.unwrap().code, CloseCode::Policy);
    let _ok = server.plain("/1234567").await;
    server.stop().await;
}

#[tokio::test]
async fn a_flooding_client_is_held_to_its_message_budget() {
    let mut cfg = config();
    cfg.max_message_rate = 5.0;
    cfg.message_burst = 5;
    let server = start(cfg).await;
    let mut flood = server.plain("/flood?echo=false").await;
    let mut peer = server.plain("/flood").await;
    for i in 0..30 {
        flood.send_text(&format!("m{i}")).await;
    }
    // The burst passes, the rest is dropped (a little may refill while sending).
    let relayed = peer.collect(Duration::from_millis(500)).await;
    assert!(
        (5..=8).contains(&relayed.len()),
        "{} relayed",
        relayed.len()
    );
    assert_eq!(relayed[0], Message::text("m0"));
    // The flooder is told, once (at most one warning a second).
    let warnings: Vec<_> = flood
        .collect(Duration::from_millis(300))
        .await
        .into_iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(m.to_text().unwrap()).unwrap())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["code"], "too_many_messages");
    // The budget refills: a second later it may speak again, and is still connected.
    // Stays a sleep: the refill over time is what is tested; probing would spend it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    flood.send_text("later").await;
    assert_eq!(peer.next().await, Message::text("later"));
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_closed_and_a_live_one_is_kept() {
    let mut cfg = config();
    cfg.ping_interval = Duration::from_millis(200);
    cfg.idle_timeout = Duration::from_millis(700);
    let server = start(cfg).await;
    // A client that never reads never answers pings: it looks dead.
    let mut silent = server.plain("/keepalive").await;
    let mut live = server.plain("/keepalive").await;
    // The live client keeps reading (tungstenite answers pings while it reads).
    let seen = live.collect(Duration::from_millis(1500)).await;
    assert!(seen.is_empty(), "{seen:?}");
    // The silent one was closed. Reading now, it either finds the close frame, or fails to
    // answer the queued pings on a socket the server already shut.
    loop {
        match tokio::time::timeout(Duration::from_secs(2), silent.ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                let close = frame.expect("a close reason");
                assert_eq!(close.code, CloseCode::Policy);
                assert!(close.reason.contains("idle timeout"), "{}", close.reason);
                break;
            }
            Ok(Some(Ok(_))) => continue, // the pings it never answered
            Ok(Some(Err(_)) | None) => break,
            Err(_) => panic!("the silent client is still open"),
        }
    }
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ballroom_disconnects_total{reason=\"idle_timeout\"} ")),
        "the server counted the idle timeout"
    );
    // The live one is still in the room.
    live.send_text("alive").await;
    assert_eq!(live.next().await, Message::text("alive"));
    server.stop().await;
}
