//! The binary snapshot codec (`ballroom.v2`) on a real `kickballs` room, and the test
//! vectors in `tests/vectors/snapshots.json`.
//!
//! Regenerate the vectors deliberately (after a deliberate format change) with
//! `BALLROOM_WRITE_VECTORS=1 cargo test --test it codec_v2::vectors`; otherwise the test only
//! reads the file, encodes and decodes, and compares.

use std::collections::BTreeMap;
use std::f32::consts::FRAC_1_SQRT_2;
use std::sync::Arc;

use ballroom::ids::Team;
use ballroom::protocol::binary::{self, Params, QuantizedSnapshot, SnapshotFrames};
use ballroom::room::{BallState, Input, Kick, PlayerState, Room, SimConfig, Snapshot};
use ballroom::scene::{Scene, SceneLibrary};
use serde_json::{Value, json};

fn scene(name: &str) -> Arc<Scene> {
    SceneLibrary::builtin().get(name).unwrap()
}

fn kick(room: &mut Room, client: u64, ball: u32, impulse: [f32; 3], seq: u64) {
    room.apply(
        client,
        Input::Kick(Kick {
            ball,
            impulse,
            point: None,
            seq: Some(seq),
            seen_at: None,
            tick: None,
        }),
    )
    .unwrap();
}

/// Every snapshot a `kickballs` room sends over `seconds`, with all three balls kicked
/// (different directions, some upwards) every two seconds for the first `kicking` seconds.
fn kickballs_run(seconds: u64, kicking: u64) -> Vec<Snapshot> {
    let mut room = Room::new(scene("kickballs"), SimConfig::default());
    let mut out = Vec::new();
    let impulses = [
        [[40.0, 15.0, 25.0], [-30.0, 0.0, 45.0], [-45.0, 25.0, -20.0]],
        [[-35.0, 0.0, -30.0], [25.0, 30.0, -40.0], [30.0, 0.0, 35.0]],
    ];
    for t in 0..seconds * 60 {
        if t % 120 == 0 && t < kicking * 60 {
            let round = (t / 120) as usize;
            for ball in 0..3u32 {
                let seq = t + u64::from(ball);
                kick(
                    &mut room,
                    10 + u64::from(ball),
                    ball,
                    impulses[round % 2][ball as usize],
                    seq,
                );
            }
        }
        if let Some(s) = room.tick().snapshot {
            out.push(s);
        }
    }
    out
}

fn quantized(params: &Params, snaps: &[Snapshot]) -> Vec<QuantizedSnapshot> {
    snaps
        .iter()
        .map(|s| binary::quantize(params, s).unwrap())
        .collect()
}

#[test]
fn kickballs_delta_sizes_meet_the_targets() {
    let params = Params::for_scene(&scene("kickballs"), 60.0);
    let snaps = kickballs_run(40, 12);
    let q = quantized(&params, &snaps);

    let (mut moving_bytes, mut moving_balls, mut moving_frames) = (0usize, 0usize, 0usize);
    let mut max_header = 0;
    let (mut rest_frames, mut rest_bytes) = (0usize, 0usize);
    for pair in q.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let bytes = binary::encode(&params, Some(old), new);
        assert_eq!(binary::decode(&params, Some(old), &bytes).unwrap(), *new);
        let header = binary::header(&bytes).unwrap();
        max_header = max_header.max(header.len);
        let changed = old
            .balls
            .iter()
            .zip(&new.balls)
            .filter(|(a, b)| a != b)
            .count();
        let body = bytes.len() - header.len;
        if changed == 3 && new.balls.iter().all(|b| !b.sleeping) && old.acks == new.acks {
            moving_bytes += body;
            moving_balls += 3;
            moving_frames += 1;
        } else if changed == 0 {
            rest_frames += 1;
            rest_bytes += body;
            // Header + one byte: three 1-bit "unchanged" flags, padded.
            assert_eq!(body, 1, "an at-rest delta is header + 1 byte");
        }
    }
    let key = binary::encode(&params, None, &q[0]);
    let per_ball = moving_bytes as f64 / moving_balls as f64;
    println!(
        "kickballs: {} snapshots; {moving_frames} deltas with all 3 balls moving: {per_ball:.2} bytes per moving ball (body {:.2} bytes per frame); header at most {max_header} bytes; {rest_frames} at-rest deltas of {} body bytes each ({:.2} bits per resting ball, padding included); first keyframe (all balls just kicked) {} bytes",
        q.len(),
        moving_bytes as f64 / moving_frames as f64,
        rest_bytes.checked_div(rest_frames).unwrap_or(0),
        rest_bytes as f64 * 8.0 / (rest_frames * 3).max(1) as f64,
        key.len(),
    );
    assert!(moving_frames >= 100, "{moving_frames} moving frames");
    assert!(per_ball <= 8.0, "{per_ball} bytes per moving ball");
    assert!(max_header <= 8);
    assert!(rest_frames >= 5, "{rest_frames} at-rest frames");
}

#[test]
fn one_encoding_per_distinct_baseline() {
    let params = Params::for_scene(&scene("kickballs"), 60.0);
    let q = quantized(&params, &kickballs_run(2, 1));
    let current = q.last().unwrap();
    let frames = SnapshotFrames::new(Arc::new(params.clone()), current.clone());
    let baselines = [None, Some(&q[q.len() - 2]), Some(&q[q.len() - 3])];
    for i in 0..10 {
        let b = baselines[i % 3];
        let bytes = frames.frame(b);
        assert_eq!(bytes, binary::encode(&params, b, current));
        assert_eq!(binary::decode(&params, b, &bytes).unwrap(), *current);
    }
    assert_eq!(frames.encodings(), 3);
}

// ---- test vectors -------------------------------------------------------------------

/// Floats as JSON numbers; the non-finite ones (which serde_json would write as `null`)
/// as the strings "NaN", "inf" and "-inf".
fn nums(xs: &[f32]) -> Value {
    xs.iter()
        .map(|&x| {
            if x.is_nan() {
                json!("NaN")
            } else if x.is_infinite() {
                json!(if x > 0.0 { "inf" } else { "-inf" })
            } else {
                json!(x)
            }
        })
        .collect()
}

fn state_json(s: &Snapshot) -> Value {
    json!({
        "tick": s.tick,
        "time": s.time,
        "balls": s.balls.iter().map(|b| json!({
            "id": b.id,
            "position": nums(&b.position),
            "rotation": nums(&b.rotation),
            "linvel": nums(&b.linvel),
            "angvel": nums(&b.angvel),
            "sleeping": b.sleeping,
        })).collect::<Vec<_>>(),
        "players": s.players.iter().map(|p| json!({
            "client": p.client,
            "position": nums(&p.position),
            "rotation": nums(&p.rotation),
            "team": p.team,
        })).collect::<Vec<_>>(),
        "acks": s.acks,
    })
}

/// JSON numbers as f32; the strings "NaN", "inf" and "-inf" for the non-finite ones.
fn f(v: &Value) -> f32 {
    match v {
        Value::String(s) => match s.as_str() {
            "NaN" => f32::NAN,
            "inf" => f32::INFINITY,
            "-inf" => f32::NEG_INFINITY,
            other => panic!("{other}"),
        },
        v => v.as_f64().unwrap() as f32,
    }
}

fn arr<const N: usize>(v: &Value) -> [f32; N] {
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), N);
    std::array::from_fn(|i| f(&a[i]))
}

fn state_from_json(v: &Value) -> Snapshot {
    Snapshot {
        tick: v["tick"].as_u64().unwrap(),
        time: v["time"].as_f64().unwrap(),
        balls: v["balls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| BallState {
                id: b["id"].as_u64().unwrap() as u32,
                position: arr(&b["position"]),
                rotation: arr(&b["rotation"]),
                linvel: arr(&b["linvel"]),
                angvel: arr(&b["angvel"]),
                sleeping: b["sleeping"].as_bool().unwrap(),
            })
            .collect(),
        players: v["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| PlayerState {
                client: p["client"].as_u64().unwrap(),
                position: arr(&p["position"]),
                rotation: arr(&p["rotation"]),
                team: serde_json::from_value(p["team"].clone()).unwrap(),
            })
            .collect(),
        acks: serde_json::from_value(v["acks"].clone()).unwrap(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Case {
    name: &'static str,
    scene: &'static str,
    baseline: Option<Snapshot>,
    current: Snapshot,
}

/// The situations the vectors cover, built from real rooms.
fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    // Kickballs at spawn, then moving, then at rest.
    let mut room = Room::new(scene("kickballs"), SimConfig::default());
    let spawn = room.tick().snapshot.unwrap();
    out.push(Case {
        name: "kickballs_keyframe_at_spawn",
        scene: "kickballs",
        baseline: None,
        current: spawn,
    });
    kick(&mut room, 10, 0, [40.0, 15.0, 25.0], 1);
    kick(&mut room, 11, 1, [-30.0, 0.0, 45.0], 1);
    kick(&mut room, 12, 2, [-45.0, 25.0, -20.0], 1);
    let mut moving = Vec::new();
    for _ in 0..30 {
        if let Some(s) = room.tick().snapshot {
            moving.push(s);
        }
    }
    let n = moving.len();
    out.push(Case {
        name: "kickballs_delta_all_moving",
        scene: "kickballs",
        baseline: Some(moving[n - 2].clone()),
        current: moving[n - 1].clone(),
    });
    let mut rest = Vec::new();
    while rest.len() < 2 {
        let snap = room.tick().snapshot;
        if room.is_at_rest() {
            rest.extend(snap);
        }
    }
    out.push(Case {
        name: "kickballs_delta_at_rest",
        scene: "kickballs",
        baseline: Some(rest[0].clone()),
        current: rest[1].clone(),
    });
    // Players joining, moving and leaving; acks changing.
    let mut a = rest[1].clone();
    a.players = vec![
        player(3, [2.0, 0.0, 3.0], None),
        player(5, [6.5, 0.0, 9.25], None),
        player(9, [14.0, 0.0, 1.0], None),
    ];
    a.acks = BTreeMap::from([(3, 7), (5, 2), (9, 40)]);
    let mut b = a.clone();
    b.tick += 60;
    b.time = b.tick as f64 / 60.0;
    b.players = vec![
        player(3, [2.0, 0.0, 3.0], None),
        player(5, [7.0, 0.0, 9.0], None),
        player(12, [8.0, 0.0, 8.0], None),
    ];
    b.acks = BTreeMap::from([(3, 8), (5, 2), (12, 1)]);
    out.push(Case {
        name: "kickballs_delta_players_and_acks",
        scene: "kickballs",
        baseline: Some(a),
        current: b,
    });
    // Football with a player in each team.
    let mut football = Room::new(scene("football"), SimConfig::default());
    for (client, team, x) in [(1, Team::Blue, -3.0), (2, Team::Red, 3.0)] {
        football.apply(client, Input::JoinTeam(Some(team))).unwrap();
        football
            .apply(
                client,
                Input::Pose {
                    position: [x, 0.0, 0.5],
                    rotation: [0.0, FRAC_1_SQRT_2, 0.0, FRAC_1_SQRT_2],
                },
            )
            .unwrap();
    }
    let mut snap = None;
    while snap.is_none() {
        snap = football.tick().snapshot;
    }
    out.push(Case {
        name: "football_keyframe_with_teams",
        scene: "football",
        baseline: None,
        current: snap.unwrap(),
    });
    // Out of bounds, huge, non-finite, zero and negative zero: clamped.
    let mut x = rest[1].clone();
    x.tick = 1 << 40;
    x.time = x.tick as f64 / 60.0;
    x.balls[0].position = [-1e9, f32::NAN, 1e30];
    x.balls[0].rotation = [f32::NAN, 0.0, 0.0, 1.0];
    x.balls[0].linvel = [f32::INFINITY, f32::NEG_INFINITY, -0.0];
    x.balls[0].angvel = [1e6, f32::NAN, -1e6];
    x.balls[1].rotation = [0.0, 0.0, 0.0, -1.0];
    x.balls[1].linvel = [-0.0, 0.0, 0.003];
    x.balls[2].rotation = [0.5, -0.5, 0.5, -0.5];
    x.balls[2].position = [16.5, 25.0, -3.0];
    x.players = vec![player(u64::MAX, [1e9, -1e9, f32::NAN], Some(Team::Red))];
    x.acks = BTreeMap::from([(u64::MAX, u64::MAX), (0, 0)]);
    out.push(Case {
        name: "kickballs_keyframe_clamped",
        scene: "kickballs",
        baseline: None,
        current: x,
    });
    out
}

fn player(client: u64, position: [f32; 3], team: Option<Team>) -> PlayerState {
    PlayerState {
        client,
        position,
        rotation: [0.0, 0.38268343, 0.0, 0.9238795],
        team,
    }
}

#[test]
fn vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/snapshots.json");
    if std::env::var_os("BALLROOM_WRITE_VECTORS").is_some() {
        let vectors: Vec<Value> = cases()
            .into_iter()
            .map(|c| {
                let params = Params::for_scene(&scene(c.scene), 60.0);
                let base = c
                    .baseline
                    .as_ref()
                    .map(|b| binary::quantize(&params, b).unwrap());
                let cur = binary::quantize(&params, &c.current).unwrap();
                let bytes = binary::encode(&params, base.as_ref(), &cur);
                json!({
                    "name": c.name,
                    "scene": c.scene,
                    "tick_rate": 60.0,
                    "params": params,
                    "baseline": c.baseline.as_ref().map(state_json),
                    "current": state_json(&c.current),
                    "bytes": hex(&bytes),
                    "decoded": state_json(&cur.to_snapshot(&params)),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&json!({ "vectors": vectors })).unwrap();
        std::fs::write(path, text + "\n").unwrap();
    }
    let text = std::fs::read_to_string(path).expect("tests/vectors/snapshots.json");
    let file: Value = serde_json::from_str(&text).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 6);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let scene = scene(v["scene"].as_str().unwrap());
        let params = Params::for_scene(&scene, v["tick_rate"].as_f64().unwrap());
        let declared: Params = serde_json::from_value(v["params"].clone()).unwrap();
        assert_eq!(declared, params, "{name}: params");
        let baseline = (!v["baseline"].is_null())
            .then(|| binary::quantize(&params, &state_from_json(&v["baseline"])).unwrap());
        let current = binary::quantize(&params, &state_from_json(&v["current"])).unwrap();
        let bytes = unhex(v["bytes"].as_str().unwrap());
        assert_eq!(
            hex(&binary::encode(&params, baseline.as_ref(), &current)),
            hex(&bytes),
            "{name}: encoded bytes"
        );
        let decoded = binary::decode(&params, baseline.as_ref(), &bytes).unwrap();
        assert_eq!(decoded, current, "{name}: decoded");
        // The dequantized floats (f32, written as the shortest f64 of each f32 value).
        let mut want = state_from_json(&v["decoded"]);
        let got = decoded.to_snapshot(&params);
        assert!(
            (want.time - got.time).abs() <= 1e-12 * got.time.max(1.0),
            "{name}: time"
        );
        want.time = got.time;
        assert_eq!(want, got, "{name}: dequantized");
    }
}
