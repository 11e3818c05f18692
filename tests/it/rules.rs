//! A room's rules (`docs/RULES.md`), over real sockets: a rule refuses and changes kicks;
//! messages and state reach clients and a late joiner gets the state in its `welcome`; a
//! hook that loops forever, one that throws and one that allocates without end each fail
//! alone while the room keeps ticking for everyone; the state survives a `--state-dir`
//! restart.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, config, sample, scene_assets, start};

const WAIT: Duration = Duration::from_secs(10);

/// An `--assets` directory whose scene `name` is kickballs with `rules/NAME.js` = `source`.
fn ruled(name: &str, source: &str) -> PathBuf {
    let dir = scene_assets("kickballs", name, |s| {
        s["rules"] = json!(format!("rules/{name}.js"));
        s["kick_rules"]["burst"] = json!(100);
    });
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join(format!("rules/{name}.js")), source).unwrap();
    dir
}

fn kick(impulse: [f64; 3], seq: u64) -> Value {
    json!({"type": "kick", "ball": 0, "impulse": impulse, "seq": seq})
}

#[tokio::test]
async fn a_rule_refuses_and_changes_kicks() {
    let assets = ruled(
        "gate",
        "export default {
           onKick(room, k) {
             if (k.impulse[0] < 0) return { refuse: 'only eastwards' };
             if (k.impulse[0] > 100) return { impulse: [10, 0, 0] };
           },
         };",
    );
    let mut cfg = config();
    cfg.assets = Some(assets);
    let server = start(cfg).await;
    let (mut c, welcome) = server.protocol("/gate?scene=gate").await;
    assert_eq!(welcome["rules_state"], Value::Null);
    assert_eq!(welcome["scene"]["rules"], "rules/gate.js");

    c.send_json(kick([-20.0, 0.0, 0.0], 1)).await;
    let refused = c.recv_type("error").await;
    assert_eq!(refused["code"], "refused_by_rules");
    assert_eq!(refused["seq"], 1);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("only eastwards"),
        "{refused}"
    );

    // 140 N·s asked, 10 N·s applied: a 5 kg ball leaves at about 2 m/s, not 28.
    c.send_json(kick([140.0, 0.0, 0.0], 2)).await;
    let applied = c.recv_type("kick").await;
    assert_eq!(applied["impulse"], json!([10.0, 0.0, 0.0]));
    let moving = c
        .recv_until(|m| m["type"] == "snapshot" && m["acks"].to_string().contains('2'))
        .await;
    let v = support::vec3(&support::ball(&moving, 0)["v"]);
    let speed = v[0].hypot(v[2]);
    assert!((1.0..2.5).contains(&speed), "{speed} m/s: {moving}");
    server.stop().await;
}

#[tokio::test]
async fn messages_and_state_reach_clients_and_a_late_joiner_gets_the_state_in_its_welcome() {
    let assets = ruled(
        "board",
        "export default {
           onStart(room) { room.setState({ notes: [] }); },
           onMessage(room, c, name, data) {
             if (name === 'note') {
               room.setState({ notes: [...room.state.notes, [c.id, data]] });
               room.broadcast('noted', { by: c.id });
               room.send(c.id, 'thanks', { n: room.state.notes.length });
             }
           },
         };",
    );
    let mut cfg = config();
    cfg.assets = Some(assets);
    let server = start(cfg).await;
    let (mut a, wa) = server.protocol("/board?scene=board").await;
    let a_id = wa["client"].as_u64().unwrap();
    a.send_json(json!({"type": "message", "name": "note", "data": "hi"}))
        .await;
    let state = a
        .recv_until(|m| m["type"] == "rules_state" && m["state"]["notes"] != json!([]))
        .await;
    assert_eq!(state["state"], json!({"notes": [[a_id, "hi"]]}));
    let noted = a.recv_until(|m| m["type"] == "message").await;
    assert_eq!(
        (noted["name"].clone(), noted["data"].clone()),
        (json!("noted"), json!({"by": a_id}))
    );
    let thanks = a.recv_until(|m| m["type"] == "message").await;
    assert_eq!(
        (thanks["name"].clone(), thanks["data"].clone()),
        (json!("thanks"), json!({"n": 1}))
    );

    // A late joiner has the state in its welcome; the `message` type is not relayed here.
    let (mut b, wb) = server.protocol("/board").await;
    assert_eq!(wb["rules_state"], json!({"notes": [[a_id, "hi"]]}));
    b.send_text(r#"{"type":"message","name":"not a name","data":1}"#)
        .await;
    let error = b.recv_type("error").await;
    assert_eq!(error["code"], "bad_command");
    // A plain broadcast scene's own `message` frames are relayed as ever elsewhere.
    let mut p1 = server.plain("/plain").await;
    let mut p2 = server.plain("/plain").await;
    let text = r#"{"type":"message","text":"hello"}"#;
    p1.send_text(text).await;
    assert_eq!(p2.recv_raw("message", WAIT).await, text);
    server.stop().await;
}

#[tokio::test]
async fn a_hook_that_loops_throws_or_allocates_without_end_fails_alone() {
    let assets = ruled(
        "bad",
        "export default {
           onMessage(room, c, name) {
             if (name === 'loop') for (;;) {}
             if (name === 'throw') throw new Error('on purpose');
             if (name === 'alloc') { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }
             room.send(c.id, 'fine', null);
           },
         };",
    );
    let mut cfg = config();
    cfg.assets = Some(assets);
    let server = start(cfg).await;
    let (mut bad, _) = server.protocol("/bad?scene=bad").await;
    let (mut watcher, _) = server.protocol("/bad").await;
    // Something moves, so that the room sends snapshots throughout.
    watcher.send_json(kick([0.0, 60.0, 0.0], 1)).await;
    watcher.recv_type("kick").await;
    for name in ["loop", "throw", "alloc"] {
        bad.send_json(json!({"type": "message", "name": name}))
            .await;
        // The room ticks on: the watcher's snapshots keep coming, tick after tick.
        let first = watcher.recv_type("snapshot").await["tick"]
            .as_u64()
            .unwrap();
        let later = watcher
            .recv_until(|m| m["type"] == "snapshot" && m["tick"].as_u64().unwrap() > first + 5)
            .await;
        assert!(later["tick"].as_u64().unwrap() > first);
    }
    // The same script answers a good message afterwards.
    bad.send_json(json!({"type": "message", "name": "ok"}))
        .await;
    let fine = bad.recv_until(|m| m["type"] == "message").await;
    assert_eq!(fine["name"], "fine");
    let metrics = support::eventually("three failures counted", || async {
        let (_, body) = server.get("/metrics").await;
        let counted = |kind: &str| {
            sample(
                &body,
                "ballroom_rules_failures_total",
                &format!("hook=\"onMessage\",kind=\"{kind}\""),
            )
        };
        [
            counted("timed_out"),
            counted("threw"),
            counted("out_of_memory"),
        ]
        .iter()
        .all(|n| *n == Some(1.0))
        .then_some(body)
    })
    .await;
    assert!(metrics.contains("ballroom_rules_failures_total"));
    let (_, rooms) = server.get("/rooms").await;
    let rooms: Value = serde_json::from_str(&rooms).unwrap();
    let room = rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == "/bad")
        .unwrap();
    assert_eq!(room["rules_failures"], 3, "{room}");
    server.stop().await;
}

#[tokio::test]
async fn the_rules_state_survives_a_state_dir_restart() {
    let assets = ruled(
        "keep",
        "export default {
           onStart(room) { if (room.state === null) room.setState({ count: 0, starts: 0 });
                           room.setState({ ...room.state, starts: room.state.starts + 1 }); },
           onMessage(room) { room.setState({ ...room.state, count: room.state.count + 1 }); },
         };",
    );
    let dir = std::env::temp_dir().join(format!("ballroom-state-rules-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = || {
        let mut c = config();
        c.assets = Some(assets.clone());
        c.state_dir = Some(dir.clone());
        c
    };
    let server = start(cfg()).await;
    let (mut c, _) = server.protocol("/keep?scene=keep").await;
    for _ in 0..3 {
        c.send_json(json!({"type": "message", "name": "count"}))
            .await;
    }
    c.recv_until(|m| m["type"] == "rules_state" && m["state"]["count"] == 3)
        .await;
    server.stop().await;

    // The rules file changes on disk: the restored room keeps the rules it ran.
    std::fs::write(assets.join("rules/keep.js"), "export default {};").unwrap();
    let server = start(cfg()).await;
    let (_, welcome) = server.protocol("/keep").await;
    assert_eq!(welcome["rules_state"], json!({"count": 3, "starts": 2}));
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
