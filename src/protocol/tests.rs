//! The decoder and the JSON encoder against literal frames.

use std::collections::BTreeMap;

use super::*;
use crate::room::{BallState, Input, Kick, PlayerState, Snapshot};

fn reject_code(text: &str) -> &'static str {
    match classify_text(text) {
        Inbound::Reject(e) => e.code().as_str(),
        other => panic!("{text} was not rejected: {other:?}"),
    }
}

#[test]
fn commands_decode_from_arrays_and_objects() {
    let a = classify_text(r#"{"type":"kick","ball":1,"impulse":[1,2,3],"seq":4}"#);
    let b = classify_text(r#"{"type":"kick","ball":1,"impulse":{"x":1,"y":2,"z":3},"seq":4}"#);
    let expected = Command::Room(Input::Kick(Kick {
        ball: 1,
        impulse: [1.0, 2.0, 3.0],
        point: None,
        seq: Some(4),
        seen_at: None,
        tick: None,
    }));
    for got in [a, b] {
        match got {
            Inbound::Command(c) => assert_eq!(c, expected),
            other => panic!("{other:?}"),
        }
    }
    match classify_text(
        r#"{"type":"player","position":[1,0,2],"rotation":{"x":0,"y":0,"z":0,"w":2}}"#,
    ) {
        Inbound::Command(Command::Room(Input::Pose { position, rotation })) => {
            assert_eq!(position, [1.0, 0.0, 2.0]);
            assert_eq!(rotation, Quat::IDENTITY.0, "normalised");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        classify_text(r#"{"type":"state"}"#),
        Inbound::Command(Command::State)
    ));
    assert!(matches!(
        classify_text(r#"{"type":"ping","t":{"any":"thing"}}"#),
        Inbound::Command(Command::Ping { .. })
    ));
}

#[test]
fn foreign_messages_are_relayed() {
    for text in [
        r#"{"cube":3}"#,
        r#"{"type":1,"user":"a","ball":0,"vector":{"x":0,"y":0,"z":1},"vectorScale":100}"#,
        r#"{"type":0,"data":{}}"#,
        r#"{"type":"join","data":{"team":1}}"#,
        r#"{"type":"Board-fullStateReq","data":null}"#,
        "hello, not json",
        "[1,2,3]",
        "{ not json but no type either",
    ] {
        assert!(matches!(classify_text(text), Inbound::Relay), "{text}");
    }
}

#[test]
fn spoofs_and_bad_commands_are_rejected_with_codes() {
    let cases = [
        (
            r#"{"type":"snapshot","tick":1,"balls":[]}"#,
            "reserved_type",
        ),
        (r#"{"type":"welcome"}"#, "reserved_type"),
        (
            r#"{"type":"kick","ball":"zero","impulse":[0,0,1]}"#,
            "bad_command",
        ),
        (r#"{"type":"kick","ball":0,"impulse":[0,1]}"#, "bad_command"),
        (
            r#"{"type":"kick","ball":0,"impulse":[0,0,1],"extra":1}"#,
            "bad_command",
        ),
        (
            r#"{"type":"kick","ball":0,"impulse":[1e39,0,0]}"#,
            "non_finite",
        ),
        (
            r#"{"type":"player","position":{"x":1e300,"y":0,"z":0}}"#,
            "non_finite",
        ),
        (
            r#"{"type":"kick","ball":0,"impulse":[NaN,0,0]}"#,
            "bad_json",
        ),
        // The code comes from the decoder, not from matching message text.
        (r#"{"type":"kick","not finite":1}"#, "bad_command"),
        (r#"{"type": "kick", "ball": }"#, "bad_json"),
        (
            r#"{"type":"player","position":[0,0,0],"rotation":[0,0,0,0]}"#,
            "bad_command",
        ),
    ];
    for (text, code) in cases {
        assert_eq!(reject_code(text), code, "{text}");
    }
}

#[test]
fn server_messages_encode_vectors_as_arrays() {
    let snap = Snapshot {
        tick: 7,
        time: 0.5,
        balls: vec![BallState {
            id: 0,
            position: [1.0, 2.0, 3.0],
            rotation: Quat::IDENTITY.0,
            linvel: [0.0; 3],
            angvel: [0.0; 3],
            sleeping: true,
        }],
        // v1 JSON keeps players out of snapshots (they get `player` messages).
        players: vec![PlayerState {
            client: 3,
            position: [4.0, 0.0, 4.0],
            rotation: Quat::IDENTITY.0,
            team: None,
        }],
        acks: BTreeMap::from([(3, 9)]),
    };
    let v: serde_json::Value = serde_json::from_str(&encode(&ServerMsg::Snapshot(&snap))).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"type":"snapshot","tick":7,"time":0.5,"balls":[
            {"id":0,"p":[1.0,2.0,3.0],"q":[0.0,0.0,0.0,1.0],"v":[0.0,0.0,0.0],"w":[0.0,0.0,0.0],"sleeping":true}
        ],"acks":{"3":9}})
    );
    let e = encode(&ServerMsg::Error {
        code: ErrorCode::BadJson,
        message: "y",
        seq: None,
    });
    assert_eq!(e, r#"{"type":"error","code":"bad_json","message":"y"}"#);
}

/// `tests/vectors/commands.json`: each kick the TypeScript client writes decodes to the
/// kick the vector names (the client's side is clients/ts/test/vectors.test.ts).
#[test]
fn the_command_vectors_decode_as_the_client_meant() {
    #[derive(serde::Deserialize)]
    struct File {
        vectors: Vec<Vector>,
    }
    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        text: String,
        kick: Expected,
    }
    #[derive(serde::Deserialize)]
    struct Expected {
        ball: u32,
        impulse: [f32; 3],
        point: Option<[f32; 3]>,
        seq: Option<u64>,
        seen_at: Option<f64>,
        tick: Option<u64>,
    }
    let file: File =
        serde_json::from_str(include_str!("../../tests/vectors/commands.json")).unwrap();
    assert!(file.vectors.len() >= 3);
    for v in file.vectors {
        let want = Command::Room(Input::Kick(Kick {
            ball: v.kick.ball,
            impulse: v.kick.impulse,
            point: v.kick.point,
            seq: v.kick.seq,
            seen_at: v.kick.seen_at,
            tick: v.kick.tick,
        }));
        match classify_text(&v.text) {
            Inbound::Command(got) => assert_eq!(got, want, "{}", v.name),
            other => panic!("{}: {other:?}", v.name),
        }
    }
    let bad = r#"{"type":"kick","ball":1,"impulse":[1,2,3],"seen_at":"now"}"#;
    assert_eq!(reject_code(bad), "bad_command");
    let bad = r#"{"type":"kick","ball":1,"impulse":[1,2,3],"tick":-3}"#;
    assert_eq!(reject_code(bad), "bad_command");
}

/// `tests/vectors/rules.json`: rules messages as the TypeScript client writes them decode
/// to what the rules receive in a room with rules, and are relayed in a room without; the
/// server's `message` and `rules_state` are written as the vectors say.
#[test]
fn the_rules_vectors_hold() {
    use crate::protocol::{Vocabulary, classify_in};
    use crate::room::Input;
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../tests/vectors/rules.json")).unwrap();
    for v in file["commands"].as_array().unwrap() {
        let text = v["text"].as_str().unwrap();
        match classify_in(text, Vocabulary::RULES) {
            Inbound::Command(Command::Room(Input::Message { name, data })) => {
                assert_eq!(name, v["args"]["name"], "{}", v["name"]);
                let data: serde_json::Value = serde_json::from_str(&data).unwrap();
                assert_eq!(data, v["data"], "{}", v["name"]);
            }
            other => panic!("{}: {other:?}", v["name"]),
        }
        assert!(
            matches!(classify_in(text, Vocabulary::PLAIN), Inbound::Relay),
            "{}",
            v["name"]
        );
    }
    for name in file["bad_names"].as_array().unwrap() {
        let text = serde_json::json!({"type": "message", "name": name, "data": 1}).to_string();
        assert!(
            matches!(
                classify_in(&text, Vocabulary::RULES),
                Inbound::Reject(DecodeError::BadCommand { .. })
            ),
            "{name}"
        );
    }
    for v in file["server"].as_array().unwrap() {
        let written = if let Some(m) = v.get("message") {
            let data = m["data"].to_string();
            encode(&ServerMsg::Message {
                name: m["name"].as_str().unwrap(),
                data: &data,
            })
        } else {
            let s = &v["rules_state"];
            let state = s["state"].to_string();
            encode(&ServerMsg::RulesState {
                state: &state,
                tick: s["tick"].as_u64().unwrap(),
            })
        };
        assert_eq!(written, v["text"].as_str().unwrap(), "{}", v["name"]);
    }
}

/// A room with rules owns what every room owns and exactly its rules' types besides: the
/// two lists in `protocol/mod.rs` are the base lists, extended.
#[test]
fn the_rules_vocabulary_is_the_plain_one_and_the_rules_types() {
    use crate::protocol::{COMMAND_TYPES, RULES_COMMAND_TYPES, RULES_SERVER_TYPES, SERVER_TYPES};
    let (commands, server) = (
        RULES_COMMAND_TYPES.strip_prefix(COMMAND_TYPES),
        RULES_SERVER_TYPES.strip_prefix(SERVER_TYPES),
    );
    assert_eq!(commands, Some(&["message"][..]));
    assert_eq!(server, Some(&["message", "rules_state"][..]));
}
