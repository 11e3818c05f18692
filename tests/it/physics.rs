//! The authoritative physics path, over real WebSocket connections.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{ball, config, eventually, start, vec3};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn welcome_describes_the_room_and_scene() {
    let server = start(config()).await;
    let (_c, welcome) = server.protocol("/lobby").await;
    assert_eq!(welcome["room"], "/lobby");
    assert_eq!(welcome["tick_rate"], 60.0);
    assert_eq!(welcome["snapshot_rate"], 20.0);
    assert_eq!(welcome["echo"], true);
    assert!(welcome["client"].as_u64().unwrap() > 0);
    let scene = &welcome["scene"];
    assert_eq!(scene["name"], "kickballs");
    assert_eq!(scene["gravity"], json!([0.0, -9.82, 0.0]));
    let balls = scene["balls"].as_array().unwrap();
    assert_eq!(balls.len(), 3);
    assert_eq!(
        (balls[0]["radius"].as_f64(), balls[0]["mass"].as_f64()),
        (Some(1.0), Some(5.0))
    );
    assert!(
        scene["statics"].as_array().unwrap().len() >= 5,
        "ground and walls"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_kick_moves_the_ball_along_the_impulse_and_snapshots_show_it() {
    let server = start(config()).await;
    let (mut kicker, welcome) = server.protocol("/kick?scene=kickballs").await;
    let me = welcome["client"].as_u64().unwrap();
    let first = kicker.recv_type("snapshot").await;
    let start_pos = vec3(&ball(&first, 1)["p"]);

    kicker
        .send_json(json!({"type":"kick","ball":1,"impulse":{"x":0,"y":0,"z":40},"seq":7}))
        .await;
    let kick = kicker.recv_type("kick").await;
    assert_eq!(kick["client"], me);
    assert_eq!(kick["ball"], 1);
    assert_eq!(kick["seq"], 7);
    assert_eq!(kick["impulse"], json!([0.0, 0.0, 40.0]));
    let kick_tick = kick["tick"].as_u64().unwrap();

    // The snapshot of the kick's own tick already shows the velocity and acknowledges it.
    let snap = kicker.recv_type("snapshot").await;
    assert_eq!(snap["tick"].as_u64().unwrap(), kick_tick);
    assert_eq!(snap["acks"][me.to_string()], 7);
    let v = vec3(&ball(&snap, 1)["v"]);
    assert!(
        v[2] > 7.0 && v[2] <= 8.0,
        "impulse/mass = 8 m/s along +z, got {v:?}"
    );
    assert!(v[0].abs() < 0.1);

    // Half a second later the ball has travelled along +z.
    let later = kicker
        .recv_until(|m| m["type"] == "snapshot" && m["tick"].as_u64().unwrap() >= kick_tick + 30)
        .await;
    let p = vec3(&ball(&later, 1)["p"]);
    assert!(p[2] - start_pos[2] > 2.0, "{start_pos:?} -> {p:?}");
    assert!(
        (p[0] - start_pos[0]).abs() < 0.2,
        "stayed on its line: {p:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn two_clients_receive_identical_snapshots_for_the_same_tick() {
    let server = start(config()).await;
    let (mut a, _) = server.protocol("/same").await;
    let (mut b, _) = server.protocol("/same").await;
    a.send_json(json!({"type":"kick","ball":0,"impulse":[30,20,0]}))
        .await;

    let mut seen: [BTreeMap<u64, String>; 2] = Default::default();
    for (i, c) in [&mut a, &mut b].into_iter().enumerate() {
        for m in c.collect(Duration::from_millis(1500)).await {
            if let Message::Text(t) = m {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "snapshot" {
                    seen[i].insert(v["tick"].as_u64().unwrap(), t.to_string());
                }
            }
        }
    }
    let common: Vec<u64> = seen[0]
        .keys()
        .filter(|t| seen[1].contains_key(t))
        .copied()
        .collect();
    assert!(
        common.len() >= 10,
        "both saw the stream: {} common ticks",
        common.len()
    );
    for t in common {
        assert_eq!(seen[0][&t], seen[1][&t], "snapshot of tick {t} differs");
    }
    server.stop().await;
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = start(config()).await;
    let (mut a, _) = server.protocol("/room-a").await;
    let (mut b, _) = server.protocol("/room-b").await;
    let b_before = b.recv_type("snapshot").await;
    a.send_json(json!({"type":"kick","ball":2,"impulse":[0,0,50]}))
        .await;
    a.send_text(r#"{"hello":"a"}"#).await;
    a.recv_type("kick").await;

    for m in b.collect(Duration::from_millis(800)).await {
        let Message::Text(t) = m else {
            panic!("unexpected frame")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_ne!(v["type"], "kick", "room b saw room a's kick");
        assert!(v.get("hello").is_none(), "room b saw room a's relay");
        if v["type"] == "snapshot" {
            let (p0, p1) = (vec3(&ball(&b_before, 2)["p"]), vec3(&ball(&v, 2)["p"]));
            assert!(
                (p1[2] - p0[2]).abs() < 0.05,
                "room b's ball moved: {p0:?} -> {p1:?}"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_resting_room_falls_asleep_and_goes_quiet() {
    let server = start(config()).await;
    let (mut c, _) = server.protocol("/sleepy").await;
    // The balls start on the ground and fall asleep within a few seconds.
    let asleep = c
        .recv_until(|m| {
            m["type"] == "snapshot"
                && m["balls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|b| b["sleeping"] == true)
        })
        .await;
    let quiet = c.collect(Duration::from_millis(3200)).await;
    let ticks: Vec<u64> = quiet
        .iter()
        .filter_map(|m| match m {
            Message::Text(t) => serde_json::from_str::<serde_json::Value>(t).ok(),
            _ => None,
        })
        .filter(|v| v["type"] == "snapshot")
        .map(|v| v["tick"].as_u64().unwrap())
        .collect();
    // Moving rooms send 20/s (64 in 3.2 s); at rest at most one a second, still ticking.
    assert!(
        ticks.len() <= 4,
        "{} snapshots in 3.2 s at rest",
        ticks.len()
    );
    assert!(!ticks.is_empty(), "a 1 Hz heartbeat while at rest");
    assert!(ticks.windows(2).all(|w| w[1] - w[0] >= 60), "{ticks:?}");
    assert!(ticks[0] > asleep["tick"].as_u64().unwrap());

    // A kick wakes it at once.
    c.send_json(json!({"type":"kick","ball":0,"impulse":[10,0,0]}))
        .await;
    let snap = c.recv_type("snapshot").await;
    assert_eq!(ball(&snap, 0)["sleeping"], false);
    server.stop().await;
}

#[tokio::test]
async fn ping_state_and_player_commands() {
    let server = start(config()).await;
    let (mut a, wa) = server.protocol("/cmds").await;
    let (mut b, wb) = server.protocol("/cmds").await;
    assert_eq!(wb["clients"].as_array().unwrap().len(), 2);
    let joined = a.recv_type("joined").await;
    assert_eq!(joined["client"], wb["client"]);

    a.send_json(json!({"type":"ping","t":{"mine":1.5}})).await;
    let pong = a.recv_type("pong").await;
    assert_eq!(pong["t"], json!({"mine":1.5}));
    // One clock: server_time is the tick on the room clock, as in snapshots.
    let tick = pong["tick"].as_u64().unwrap() as f64;
    assert!((pong["server_time"].as_f64().unwrap() - tick / 60.0).abs() < 1e-9);

    a.send_json(json!({"type":"state"})).await;
    let snap = a.recv_type("snapshot").await;
    assert_eq!(snap["balls"].as_array().unwrap().len(), 3);

    a.send_json(json!({"type":"player","position":{"x":2,"y":0,"z":3}}))
        .await;
    let pose = b.recv_type("player").await;
    assert_eq!(pose["client"], wa["client"]);
    assert_eq!(pose["position"], json!([2.0, 0.0, 3.0]));
    assert_eq!(pose["rotation"], json!([0.0, 0.0, 0.0, 1.0]));

    drop(a);
    let left = b.recv_type("left").await;
    assert_eq!(left["client"], wa["client"]);
    server.stop().await;
}

#[tokio::test]
async fn a_plain_client_opts_in_with_its_first_command() {
    let server = start(config()).await;
    let mut c = server.plain("/optin").await;
    // A plain client in a physics room hears nothing of the server's own.
    assert!(c.collect(Duration::from_millis(300)).await.is_empty());
    c.send_json(json!({"type":"ping","t":1})).await;
    assert_eq!(c.next_json().await["type"], "welcome");
    // Its current snapshot and the reply follow (in either order).
    let mut kinds = vec![
        c.next_json().await["type"].as_str().unwrap().to_owned(),
        c.next_json().await["type"].as_str().unwrap().to_owned(),
    ];
    kinds.sort();
    assert_eq!(kinds, ["pong", "snapshot"]);
    server.stop().await;
}

#[tokio::test]
async fn a_quick_reconnect_finds_the_same_room_state() {
    let server = start(config()).await;
    let (mut c, _) = server.protocol("/linger").await;
    c.send_json(json!({"type":"kick","ball":0,"impulse":[0,0,60]}))
        .await;
    let kick_tick = c.recv_type("kick").await["tick"].as_u64().unwrap();
    drop(c);
    let s = &server;
    // The room lingers with no client, its clock running: 18 ticks (300 ms at 60 Hz) on
    // from the kick, the ball has gone far.
    eventually(
        "the room lingering with no client, 18 ticks on",
        || async move {
            let rooms: Value = serde_json::from_str(&s.get("/rooms").await.1).unwrap();
            let r = &rooms[0];
            let on = r["tick"].as_u64().is_some_and(|t| t >= kick_tick + 18);
            (r["room"] == "/linger" && r["clients"] == 0 && on).then_some(())
        },
    )
    .await;
    let (mut c, welcome) = server.protocol("/linger").await;
    assert!(
        welcome["tick"].as_u64().unwrap() > kick_tick,
        "same room, clock kept running"
    );
    let snap = c.recv_type("snapshot").await;
    assert!(
        vec3(&ball(&snap, 0)["p"])[2] > 9.0,
        "the kicked ball is where it went"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unchanged_pose_is_not_relayed_again() {
    let server = start(config()).await;
    let (mut a, _) = server.protocol("/poses").await;
    let (mut b, _) = server.protocol("/poses").await;
    for _ in 0..5 {
        a.send_json(json!({"type":"player","position":[3,0,3]}))
            .await;
    }
    a.send_json(json!({"type":"player","position":[3,0,3],"rotation":[0,1,0,0]}))
        .await;
    a.send_json(json!({"type":"player","position":[3.5,0,3],"rotation":[0,1,0,0]}))
        .await;
    let poses: Vec<serde_json::Value> = b
        .collect(Duration::from_millis(400))
        .await
        .into_iter()
        .filter_map(|m| serde_json::from_str::<serde_json::Value>(m.to_text().ok()?).ok())
        .filter(|v| v["type"] == "player")
        .collect();
    let seen: Vec<_> = poses
        .iter()
        .map(|p| (p["position"][0].as_f64(), p["rotation"][1].as_f64()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(3.0), Some(0.0)),
            (Some(3.0), Some(1.0)),
            (Some(3.5), Some(1.0))
        ]
    );
    server.stop().await;
}
