//! Every class of bad input gets a typed error (or a close frame with a reason) and
//! harms nobody: the room keeps ticking and other clients keep their streams.

use std::time::Duration;

use crate::support::{config, start};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn each_bad_command_gets_its_error_and_nothing_else_happens() {
    let server = start(config()).await;
    let (mut bad, _) = server.protocol("/bad").await;
    let (mut good, _) = server.protocol("/bad").await;
    let cases: &[(&str, &str)] = &[
        (r#"{"type":"kick","ball":0,"impulse":[1,0,"#, "bad_json"),
        (
            r#"{"type":"kick","ball":0,"impulse":[NaN,0,0]}"#,
            "bad_json",
        ),
        (
            r#"{"type":"kick","ball":"zero","impulse":[1,0,0]}"#,
            "bad_command",
        ),
        (r#"{"type":"kick","ball":0}"#, "bad_command"),
        (
            r#"{"type":"kick","ball":9,"impulse":[1,0,0]}"#,
            "unknown_ball",
        ),
        (
            r#"{"type":"kick","ball":0,"impulse":[1e39,0,0]}"#,
            "non_finite",
        ),
        (r#"{"type":"player","position":[0,1e300,0]}"#, "non_finite"),
        (
            r#"{"type":"kick","ball":0,"impulse":[0,0,500]}"#,
            "impulse_too_large",
        ),
        (
            r#"{"type":"kick","ball":0,"impulse":[0,0,10],"point":[100,0,0]}"#,
            "bad_point",
        ),
        (
            r#"{"type":"snapshot","tick":0,"balls":[]}"#,
            "reserved_type",
        ),
    ];
    for (text, code) in cases {
        bad.send_text(text).await;
        let err = bad.recv_type("error").await;
        assert_eq!(err["code"], *code, "{text}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    // Nothing was applied or relayed: the good client saw only snapshots (no kick events,
    // no relayed frames), and they kept coming with increasing ticks.
    let mut ticks = Vec::new();
    for m in good.collect(Duration::from_millis(600)).await {
        let Message::Text(t) = m else {
            panic!("unexpected frame {m:?}")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str().unwrap() {
            "snapshot" => ticks.push(v["tick"].as_u64().unwrap()),
            "joined" => {}
            other => panic!("good client received {other}: {v}"),
        }
    }
    assert!(ticks.windows(2).all(|w| w[0] < w[1]));
    // The scene's own 100 N·s kick is within the default maximum, and the offender is
    // still connected and served.
    bad.send_json(json!({"type":"kick","ball":0,"impulse":{"x":0,"y":60,"z":80}}))
        .await;
    assert_eq!(bad.recv_type("kick").await["ball"], 0);
    assert_eq!(good.recv_type("kick").await["ball"], 0);
    server.stop().await;
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_connection_with_a_reason() {
    let mut cfg = config();
    cfg.max_message_size = 1024;
    let server = start(cfg).await;
    let (mut big, _) = server.protocol("/big").await;
    let (mut other, _) = server.protocol("/big").await;
    let mut plain = server.plain("/big").await;

    big.send(Message::text("x".repeat(4096))).await;
    let close = big
        .expect_close()
        .await
        .expect("a close frame with a reason");
    assert_eq!(close.code, CloseCode::Size);
    assert!(close.reason.contains("1024"), "{}", close.reason);

    // Everyone else keeps their stream, and the room keeps ticking.
    let left = other.recv_type("left").await;
    let t0 = other.recv_type("snapshot").await["tick"].as_u64().unwrap();
    let t1 = other.recv_type("snapshot").await["tick"].as_u64().unwrap();
    assert!(t1 > t0, "{t0} {t1}");
    assert!(left["client"].as_u64().is_some());
    plain.send_text("still here").await;
    assert_eq!(plain.next().await, Message::text("still here"));
    server.stop().await;
}

#[tokio::test]
async fn a_bad_join_is_refused_with_an_error_and_a_close_reason() {
    let server = start(config()).await;
    for (path, code) in [
        ("/x?scene=nope", "unknown_scene"),
        ("/x?echo=maybe", "bad_option"),
        ("/x?protocol=xml", "bad_option"),
        ("/%FF%FE", "bad_room"),
    ] {
        let mut c = server.plain(path).await;
        let err = c.next_json().await;
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some("error"), Some(code)),
            "{path}"
        );
        let close = c.expect_close().await.expect("a close reason");
        assert_eq!(close.code, CloseCode::Policy, "{path}");
        assert!(!close.reason.is_empty());
    }
    // The server is fine.
    let (_c, welcome) = server.protocol("/x").await;
    assert_eq!(welcome["room"], "/x");
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::frame::{
        Frame,
        coding::{Data, OpCode},
    };
    let server = start(config()).await;
    let mut c = server.plain("/utf8").await;
    let mut peer = server.plain("/utf8").await;
    let frame = Frame::message(vec![0x66, 0xff, 0xfe], OpCode::Data(Data::Text), true);
    c.ws.send(Message::Frame(frame)).await.unwrap();
    let close = c.expect_close().await.expect("close reason");
    assert_eq!(close.code, CloseCode::Invalid);
    // Nothing was relayed to the peer.
    assert!(peer.collect(Duration::from_millis(300)).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_long_refusal_reason_still_arrives_in_a_valid_close_frame() {
    let server = start(config()).await;
    let path = format!("/x?scene={}", "s".repeat(300));
    let mut c = server.plain(&path).await;
    assert_eq!(c.next_json().await["code"], "unknown_scene");
    let close = c.expect_close().await.expect("close frame");
    assert_eq!(close.code, CloseCode::Policy);
    assert!(close.reason.len() <= 123 && close.reason.starts_with("unknown scene"));
    server.stop().await;
}

#[tokio::test]
async fn a_rejected_kick_names_its_seq() {
    let server = start(config()).await;
    let (mut c, _) = server.protocol("/seq").await;
    c.send_json(json!({"type":"kick","ball":5,"impulse":[1,0,0],"seq":31}))
        .await;
    let err = c.recv_type("error").await;
    assert_eq!(
        (err["code"].as_str(), err["seq"].as_u64()),
        (Some("unknown_ball"), Some(31))
    );
    server.stop().await;
}
