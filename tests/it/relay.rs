//! The broadcast fallback: scenes written for a generic broadcast server work unchanged.
//! Message shapes are those of the example scenes in shared/reference/example-scenes.md.

use std::time::Duration;

use crate::support::{Client, config, start};
use ballroom::Mode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const QUIET: Duration = Duration::from_millis(300);

/// `c` receives exactly `text` next.
async fn receives(c: &mut Client, text: &str) {
    match c.next().await {
        Message::Text(t) => assert_eq!(t.as_str(), text),
        other => panic!("expected {text}, got {other:?}"),
    }
}

#[tokio::test]
async fn cubes_turn_green_for_everyone_on_the_echo() {
    let server = start(config()).await;
    let mut a = server.plain("/broadcast/realm").await;
    let mut b = server.plain("/broadcast/realm").await;
    let mut other_realm = server.plain("/broadcast/other").await;
    a.send_text(r#"{"cube": 3}"#).await;
    // The clicking client itself only turns the cube green when the echo arrives.
    receives(&mut a, r#"{"cube": 3}"#).await;
    receives(&mut b, r#"{"cube": 3}"#).await;
    assert!(other_realm.collect(QUIET).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn bouncing_balls_kick_and_position_messages_relay_unchanged() {
    let server = start(config()).await;
    let path = "/broadcast/ballsrealm";
    let mut a = server.plain(path).await;
    let mut b = server.plain(path).await;
    let kick = r#"{"type":1,"user":"alice","ball":2,"vector":{"x":0.1,"y":0.5,"z":0.8},"vectorScale":100,"pos":{"x":8,"y":1,"z":8},"rot":{"x":0,"y":0,"z":0,"w":1},"timeStamp":1700000000000}"#;
    let pos = r#"{"type":0,"user":"alice","ball":2,"pos":{"x":9,"y":1,"z":12},"rot":{"x":0,"y":0,"z":0,"w":1}}"#;
    a.send_text(kick).await;
    a.send_text(pos).await;
    for c in [&mut a, &mut b] {
        receives(c, kick).await;
        receives(c, pos).await;
    }
    // Plain clients in a physics room never see server messages they cannot parse.
    assert!(b.collect(QUIET).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn basket_frisbee_and_team_game_envelopes_relay_unchanged() {
    let server = start(config()).await;
    let mut a = server.plain("/broadcast/realm-basket").await;
    let mut b = server.plain("/broadcast/realm-basket").await;
    let msgs = [
        r#"{"type":0,"data":{}}"#,
        r#"{"type":1,"data":{"user":"bob"}}"#,
        r#"{"type":2,"data":{"user":"bob","position":{"x":1,"y":2,"z":3},"direction":{"x":0,"y":0,"z":1},"velocity":12}}"#,
        r#"{"type":4,"data":{"user":"bob","score":3}}"#,
        // The team game's own string types are not ballroom commands: relayed too.
        r#"{"type":"join","data":{"team":1}}"#,
        r#"{"type":"Board-fullStateReq","data":null}"#,
        r#"{"type":"msg","data":{"text":"GO"}}"#,
    ];
    for m in msgs {
        a.send_text(m).await;
    }
    for m in msgs {
        receives(&mut b, m).await;
        receives(&mut a, m).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn echo_false_leaves_the_sender_out() {
    let server = start(config()).await;
    let mut a = server.plain("/quiet?echo=false").await;
    let mut b = server.plain("/quiet").await;
    a.send_text("from a").await;
    receives(&mut b, "from a").await;
    b.send_text("from b").await;
    // a's next message is b's: its own never came back.
    receives(&mut a, "from b").await;
    receives(&mut b, "from b").await;
    server.stop().await;
}

#[tokio::test]
async fn frame_types_are_kept() {
    let server = start(config()).await;
    let mut a = server.plain("/frames").await;
    let mut b = server.plain("/frames").await;
    a.send(Message::binary(vec![0u8, 159, 146, 150, 255])).await;
    a.send_text("text stays text").await;
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.next().await,
            Message::binary(vec![0u8, 159, 146, 150, 255])
        );
        assert_eq!(c.next().await, Message::text("text stays text"));
    }
    server.stop().await;
}

#[tokio::test]
async fn server_types_cannot_be_spoofed() {
    let server = start(config()).await;
    // A relay room: the only server messages the victim should get are joins.
    let (mut victim, _) = server.protocol("/spoof?scene=relay").await;
    let mut plain_victim = server.plain("/spoof").await;
    let mut liar = server.plain("/spoof").await;
    let spoofs = [
        json!({"type":"snapshot","tick":1,"balls":[{"id":0,"p":[0,99,0]}]}),
        json!({"type":"welcome","client":1}),
        json!({"type":"kick","ball":0}), // a malformed command is not relayed either
        json!({"type":"error","code":"x","message":"fake"}),
        json!({"type":"joined","client":42}),
    ];
    for s in &spoofs {
        liar.send_json(s.clone()).await;
        let err = liar.next_json().await;
        assert_eq!(err["type"], "error", "{s}");
        let code = err["code"].as_str().unwrap();
        assert!(
            code == "reserved_type" || code == "bad_command",
            "{s}: {code}"
        );
    }
    liar.send_text("sentinel").await;
    // The victims see the sentinel and nothing the liar forged before it.
    receives(&mut plain_victim, "sentinel").await;
    let mut joins = 0;
    loop {
        match victim.next().await {
            Message::Text(t) if t.as_str() == "sentinel" => break,
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                assert_eq!(
                    v["type"], "joined",
                    "forged message reached the victim: {v}"
                );
                assert_ne!(v["client"], 42, "forged join reached the victim");
                joins += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(joins, 2);
    server.stop().await;
}

#[tokio::test]
async fn broadcast_mode_turns_physics_off() {
    let mut cfg = config();
    cfg.mode = Mode::Broadcast;
    let server = start(cfg).await;
    let (mut a, welcome) = server.protocol("/any?scene=kickballs").await;
    assert_eq!(welcome["scene"]["name"], "relay");
    assert!(welcome["scene"]["balls"].as_array().unwrap().is_empty());
    a.send_json(json!({"type":"kick","ball":0,"impulse":[1,0,0]}))
        .await;
    let err = a.recv_type("error").await;
    assert_eq!(err["code"], "no_physics");
    let mut b = server.plain("/any").await;
    b.send_text(r#"{"cube":1}"#).await;
    receives(&mut b, r#"{"cube":1}"#).await;
    let relayed = a.recv_until(|v| v.get("cube").is_some()).await;
    assert_eq!(relayed, json!({"cube":1}));
    // No snapshots in a room without physics.
    let rest = a.collect(QUIET).await;
    assert!(rest.is_empty(), "{rest:?}");
    server.stop().await;
}
