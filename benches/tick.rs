//! Tick throughput, side by side in one run so the ratios hold on a noisy machine:
//!
//! - `floor`: a bare rapier `PhysicsWorld` step of the `kickballs` scene, balls awake;
//! - `room_tick`: ballroom's room tick on the same scene (kicks, step, snapshot when due);
//! - `many_rooms/N`: N active rooms each ticked once (with a kick every 2 s per room and the
//!   snapshot encoded when due), for room-ticks per second on one core;
//! - `at_rest`: a room whose balls sleep and that gets no input;
//! - `fanout/N`: one snapshot encoded once and handed to N clients' outboxes;
//! - `fanout_v2/N`: one binary snapshot quantized once, handed to N outboxes, each
//!   client's writer taking its delta (encoded once, shared);
//! - `codec/*`: encode of every server message and decode of every command, plus the
//!   classification of relayed and rejected frames; `codec/encode_snapshot_v2_{key,delta}`:
//!   the binary snapshots of a 10-player room (quantize + encode) beside its JSON
//!   (`encode_snapshot_json_10_players`); `codec/encode_stream_{v2,json}`: what the room
//!   task encodes per snapshot over 3 s of a 10-player room (binary through its
//!   `Quantizer`; JSON with the `player` messages of the poses that changed).
//!
//! After criterion's own report, a summary prints the ratios from the medians it saved.

use std::hint::black_box;
use std::sync::Arc;

use ballroom::host::QueueLimits;
use ballroom::host::snapshot_frame::{SentSnapshots, SnapshotFrame};
use ballroom::ids::Team;
use ballroom::protocol::{self, Command, ErrorCode, ServerMsg, Welcome, binary};
use ballroom::room::{Announcement, Effects, Input, Kick, PlayerPose, Room, SimConfig, Snapshot};
use ballroom::scene::{Scene, SceneLibrary};
use ballroom::server::outbox::{Outbox, OutboxRx, outbox};
use criterion::{BenchmarkId, Criterion, criterion_group};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

fn scene(name: &str) -> Arc<Scene> {
    SceneLibrary::builtin().get(name).unwrap()
}

/// Kickballs with the per-client rate limit and the reach check lifted, so a bench can kick
/// every tick.
fn unlimited_kickballs() -> Arc<Scene> {
    let mut s = (*scene("kickballs")).clone();
    s.kick_rules.rate = 1e9;
    s.kick_rules.burst = 1e9;
    // Players of `room_tick_10_players` stand where the balls started; the balls wander.
    s.kick_rules.reach = 1e9;
    Arc::new(s)
}

/// The kick of tick `n`: alternating directions so balls stay on the pitch.
fn kick(n: u64) -> Kick {
    let dir = if n.is_multiple_of(2) { 5.0 } else { -5.0 };
    Kick {
        ball: (n % 3) as u32,
        impulse: [dir, 0.0, 2.0],
        point: None,
        seq: Some(n),
        seen_at: None,
        tick: None,
    }
}

fn encode_due(out: &Effects) {
    if let Some(s) = &out.snapshot {
        black_box(protocol::encode(&ServerMsg::Snapshot(s)));
    }
    for a in &out.announcements {
        if let Announcement::Kick(k) = a {
            black_box(protocol::encode(&ServerMsg::Kick(k)));
        }
    }
}

fn tick(c: &mut Criterion) {
    let sim = SimConfig::default();
    let mut g = c.benchmark_group("kickballs");
    // Floor and room get the same work: balls woken every tick (active), and a kick on one
    // ball every 2 s (`floor`/`room_tick`) or on every tick (`*_kick_every_tick`); the floor
    // applies it straight through rapier, the room through its validated kick queue.
    for (suffix, every) in [("", 120u64), ("_kick_every_tick", 1)] {
        g.bench_function(format!("floor{suffix}"), |b| {
            let mut world = Room::new(unlimited_kickballs(), sim).into_world();
            let balls: Vec<_> = world
                .bodies
                .iter()
                .filter(|(_, body)| body.is_dynamic())
                .map(|(h, _)| h)
                .collect();
            let mut n = 0u64;
            b.iter(|| {
                n += 1;
                if n.is_multiple_of(every) {
                    let k = kick(n);
                    let impulse = rapier3d::prelude::Vector::from_array(k.impulse);
                    world.bodies[balls[k.ball as usize]].apply_impulse(impulse, true);
                }
                world.wake_up_all(true);
                world.step();
            })
        });
        g.bench_function(format!("room_tick{suffix}"), |b| {
            let mut room = Room::new(unlimited_kickballs(), sim);
            let mut n = 0u64;
            b.iter(|| {
                n += 1;
                if n.is_multiple_of(every) {
                    room.apply(1, Input::Kick(kick(n))).unwrap();
                }
                room.wake_all();
                black_box(room.tick());
            })
        });
    }
    // The standard load's room: ten players standing by the balls, each reporting its
    // pose 5 times a second and kicking every 2 s (so a pose every 1.2 ticks and a kick
    // every 12 ticks in the room), snapshots encoded when due.
    g.bench_function("room_tick_10_players", |b| {
        let mut room = Room::new(unlimited_kickballs(), sim);
        let homes: Vec<[f32; 3]> = room.snapshot().balls.iter().map(|b| b.position).collect();
        let stand = |room: &mut Room, p: u64| {
            let home = homes[(p % 3) as usize];
            let side = if p.is_multiple_of(2) { 1.5 } else { -1.5 };
            let position = [home[0] + (p / 3) as f32 * 0.1, 0.0, home[2] + side];
            let rotation = [0.0, 0.0, 0.0, 1.0];
            room.apply(p + 1, Input::Pose { position, rotation })
                .unwrap();
        };
        for p in 0..10 {
            stand(&mut room, p);
        }
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            if n.is_multiple_of(12) {
                // A kicker of that ball (the reach check is lifted: the balls wander).
                let k = kick(n / 12);
                let kicker = u64::from(k.ball) + 3 * ((n / 36) % 3);
                room.apply(kicker + 1, Input::Kick(k)).unwrap();
            }
            stand(&mut room, n % 10);
            stand(&mut room, (n + 5) % 10);
            let out = room.tick();
            encode_due(&out);
        })
    });
    g.bench_function("at_rest", |b| {
        let mut room = Room::new(scene("kickballs"), sim);
        while !room.is_at_rest() {
            room.tick();
        }
        b.iter(|| black_box(room.tick()))
    });
    g.finish();

    let mut g = c.benchmark_group("many_rooms");
    g.sample_size(10);
    for n in [1usize, 100, 1_000, 10_000] {
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut rooms: Vec<Room> = (0..n)
                .map(|_| Room::new(unlimited_kickballs(), sim))
                .collect();
            let mut t = 0u64;
            b.iter(|| {
                t += 1;
                for (i, room) in rooms.iter_mut().enumerate() {
                    // Every room gets a kick every 2 s (120 ticks), staggered.
                    if (t + i as u64).is_multiple_of(120) {
                        room.apply(1, Input::Kick(kick(t))).unwrap();
                    }
                    room.wake_all();
                    let out = room.tick();
                    encode_due(&out);
                }
            })
        });
    }
    g.finish();
}

fn fanout(c: &mut Criterion) {
    let mut room = Room::new(scene("kickballs"), SimConfig::default());
    for _ in 0..10 {
        room.tick();
    }
    let snapshot = room.snapshot();
    let mut g = c.benchmark_group("fanout");
    for n in [1usize, 10, 50] {
        let token = CancellationToken::new();
        let boxes: Vec<(Outbox, OutboxRx)> = (0..n)
            .map(|_| {
                outbox(
                    &QueueLimits::with_client_queue(64, std::time::Duration::from_secs(1)),
                    token.clone(),
                )
            })
            .collect();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let msg = Message::text(protocol::encode(&ServerMsg::Snapshot(&snapshot)));
                for (o, _) in &boxes {
                    o.send_snapshot(SnapshotFrame::Json(msg.clone()));
                }
            })
        });
    }
    g.finish();
}

/// Binary snapshots to N clients that all hold the same baseline: the room quantizes once
/// and hands each outbox the same `Arc`; each client's writer takes its frame (the first
/// one encodes the delta, the others share its bytes). Each client's writer also first
/// takes the baseline itself (a cached frame), so that it has something to delta against.
fn fanout_binary(c: &mut Criterion) {
    let (params, baseline, current) = ten_player_snapshots();
    let params = std::sync::Arc::new(params);
    let base = std::sync::Arc::new(binary::SnapshotFrames::new(
        params.clone(),
        binary::quantize(&params, &baseline).unwrap(),
    ));
    let mut g = c.benchmark_group("fanout_v2");
    for n in [1usize, 10, 50] {
        let token = CancellationToken::new();
        let boxes: Vec<(Outbox, OutboxRx)> = (0..n)
            .map(|_| {
                outbox(
                    &QueueLimits::with_client_queue(64, std::time::Duration::from_secs(1)),
                    token.clone(),
                )
            })
            .collect();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let snapshot = std::sync::Arc::new(binary::SnapshotFrames::new(
                    params.clone(),
                    binary::quantize(&params, &current).unwrap(),
                ));
                for (o, _) in &boxes {
                    o.send_snapshot(SnapshotFrame::Binary(snapshot.clone()));
                    let mut writer = SentSnapshots::default();
                    black_box(writer.message(SnapshotFrame::Binary(base.clone())));
                    black_box(writer.message(SnapshotFrame::Binary(snapshot.clone())));
                }
                assert_eq!(snapshot.encodings(), 1);
            })
        });
    }
    g.finish();
}

/// Player `100 + c` of the 10-player benches, standing in a row along x from `x0`, in one
/// of three lines along z.
fn standing(c: u64, x0: f32, rotation: [f32; 4]) -> PlayerPose {
    PlayerPose {
        client: 100 + c,
        position: [x0 + 1.5 * c as f32, 0.0, 1.0 + (c % 3) as f32],
        rotation,
    }
}

/// Report `pose` to the room as its player's position.
fn stand(room: &mut Room, pose: &PlayerPose) {
    let input = Input::Pose {
        position: pose.position,
        rotation: pose.rotation,
    };
    room.apply(pose.client, input).unwrap();
}

/// A kickballs room with 10 players standing on the parcel and all balls kicked: the
/// binary codec's parameters and two snapshots 3 ticks apart.
fn ten_player_snapshots() -> (binary::Params, Snapshot, Snapshot) {
    let mut room = Room::new(unlimited_kickballs(), SimConfig::default());
    for c in 0..10u64 {
        stand(
            &mut room,
            &standing(c, 1.0, [0.0, 0.38268343, 0.0, 0.9238795]),
        );
    }
    for ball in 0..3u32 {
        let k = Kick {
            ball,
            impulse: [20.0 - 15.0 * ball as f32, 10.0, 30.0],
            point: None,
            seq: Some(u64::from(ball)),
            seen_at: None,
            tick: None,
        };
        room.apply(1 + u64::from(ball), Input::Kick(k)).unwrap();
    }
    for _ in 0..10 {
        room.tick();
    }
    let baseline = room.snapshot();
    // Poses at 5 Hz against snapshots at 20 Hz: about a quarter of the players move
    // between two snapshots. Three do here.
    for c in 0..3u64 {
        stand(
            &mut room,
            &standing(c, 1.25, [0.0, 0.42261826, 0.0, 0.9063078]),
        );
    }
    for _ in 0..3 {
        room.tick();
    }
    let current = room.snapshot();
    assert_eq!(current.players.len(), 10);
    let moved = |p: &&ballroom::room::PlayerState| !baseline.players.contains(p);
    assert_eq!(current.players.iter().filter(moved).count(), 3);
    let params = binary::Params::for_scene(room.scene(), 60.0);
    (params, baseline, current)
}

/// 60 consecutive snapshots (3 s at 20 Hz) of a kickballs room with 10 players, each
/// sending a new pose 5 times a second (a quarter of them between two snapshots,
/// staggered) and the balls kicked every second; with each snapshot, the poses that changed
/// since the one before.
fn ten_player_stream() -> (binary::Params, Vec<(Snapshot, Vec<PlayerPose>)>) {
    let mut room = Room::new(unlimited_kickballs(), SimConfig::default());
    let pose = |c: u64, step: u64| {
        standing(
            c,
            1.0 + 0.05 * step as f32,
            [0.0, 0.38268343, 0.0, 0.9238795],
        )
    };
    let mut stream = Vec::new();
    for step in 0..60u64 {
        let mut moved = Vec::new();
        for c in 0..10u64 {
            if step == 0 || (step + c) % 4 == 0 {
                let p = pose(c, step);
                stand(&mut room, &p);
                moved.push(p);
            }
        }
        if step % 20 == 0 {
            for ball in 0..3u32 {
                let k = Kick {
                    ball,
                    impulse: [
                        20.0 - 15.0 * ball as f32,
                        10.0,
                        30.0 - 20.0 * (step / 20) as f32,
                    ],
                    point: None,
                    seq: Some(step + u64::from(ball)),
                    seen_at: None,
                    tick: None,
                };
                room.apply(1 + u64::from(ball), Input::Kick(k)).unwrap();
            }
        }
        for _ in 0..3 {
            room.tick();
        }
        stream.push((room.snapshot(), moved));
    }
    assert!(stream.iter().all(|(s, _)| s.players.len() == 10));
    let params = binary::Params::for_scene(room.scene(), 60.0);
    (params, stream)
}

fn codec(c: &mut Criterion) {
    // The football rules' state as two players start a match (a `rules_state`).
    let mut football = Room::new(scene("football"), SimConfig::default());
    for (client, team) in [(1, Team::Blue), (2, Team::Red)] {
        football
            .apply(client, Input::Join { spectator: false })
            .unwrap();
        football.apply(client, Input::JoinTeam(Some(team))).unwrap();
    }
    let state = football.rules_state().expect("football has rules");
    let mut room = Room::new(unlimited_kickballs(), SimConfig::default());
    let kick = Kick {
        ball: 1,
        impulse: [0.0, 60.0, 80.0],
        point: None,
        seq: Some(12),
        seen_at: None,
        tick: None,
    };
    room.apply(3, Input::Kick(kick)).unwrap();
    let out = room.tick();
    let snapshot = out.snapshot.unwrap();
    let kick = match &out.announcements[0] {
        Announcement::Kick(k) => k.clone(),
        other => panic!("{other:?}"),
    };
    let pose = PlayerPose {
        client: 7,
        position: [8.5, 0.0, 9.5],
        rotation: [0.0, 0.38, 0.0, 0.92],
    };
    let kickballs = scene("kickballs");
    let value = serde_json::json!(1712345678901u64);

    let mut g = c.benchmark_group("codec");
    let goal = r#"{"ball":0,"score":{"blue":0,"red":1},"scorer":2,"team":"red","tick":900}"#;
    let result = r#"{"forfeit":false,"score":{"blue":0,"red":1},"tick":18000,"winner":"red"}"#;
    let encodes: [(&str, ServerMsg); 11] = [
        ("encode_snapshot", ServerMsg::Snapshot(&snapshot)),
        ("encode_kick", ServerMsg::Kick(&kick)),
        (
            "encode_rules_state",
            ServerMsg::RulesState {
                state: &state,
                tick: 200,
            },
        ),
        (
            "encode_goal_message",
            ServerMsg::Message {
                name: "goal",
                data: goal,
            },
        ),
        (
            "encode_result",
            ServerMsg::RulesResult {
                result,
                tick: 18000,
            },
        ),
        ("encode_joined", ServerMsg::Joined { client: 7 }),
        ("encode_left", ServerMsg::Left { client: 7 }),
        ("encode_player", ServerMsg::Player(&pose)),
        (
            "encode_pong",
            ServerMsg::Pong {
                t: &ballroom::protocol::PingToken::new(&value),
                tick: 1240,
                server_time: 20.6,
            },
        ),
        (
            "encode_error",
            ServerMsg::Error {
                code: ErrorCode::TooFar,
                message: "the ball is 4.20 m from your player; reach is 2.5 m",
                seq: Some(3),
            },
        ),
        (
            "encode_welcome",
            ServerMsg::Welcome(Welcome {
                client: 7,
                room: "/broadcast/realm",
                tick: 5230,
                time: 87.1,
                tick_rate: 60.0,
                snapshot_rate: 20.0,
                echo: true,
                clients: vec![5, 7],
                scene: &kickballs,
                player: None,
                resume: "k3Jz0vQm8xYb1cRtE5wLpA",
                resumed: false,
                spectator: false,
                encoding: protocol::Encoding::Json,
                binary: None,
                rules_state: None,
            }),
        ),
    ];
    for (name, msg) in &encodes {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(protocol::encode(black_box(msg))))
        });
    }
    // Binary snapshots (`ballroom.v2`) of a 10-player kickballs room, quantization included,
    // beside its JSON: a keyframe, and a delta against the snapshot 3 ticks earlier (all
    // balls and 3 players moved). A room encodes once per distinct baseline, not per client.
    let (params, baseline, current) = ten_player_snapshots();
    let q_base = binary::quantize(&params, &baseline).unwrap();
    g.bench_function("encode_snapshot_v2_key", |b| {
        b.iter(|| {
            let q = binary::quantize(&params, black_box(&current)).unwrap();
            black_box(binary::encode(&params, None, &q))
        })
    });
    g.bench_function("encode_snapshot_v2_delta", |b| {
        b.iter(|| {
            let q = binary::quantize(&params, black_box(&current)).unwrap();
            black_box(binary::encode(&params, Some(&q_base), &q))
        })
    });
    g.bench_function("encode_snapshot_json_10_players", |b| {
        b.iter(|| black_box(protocol::encode(&ServerMsg::Snapshot(black_box(&current)))))
    });
    // A room's stream, as the room task makes it: 60 consecutive snapshots (3 s) of a
    // 10-player room, each iteration the next one. Binary: the room's `Quantizer` (which
    // requantizes only what moved) and the delta against the one before (one keyframe per
    // lap of 60). JSON: the snapshot and the `player` message of each pose that changed
    // since the last snapshot (binary clients read poses from the snapshot).
    let (params, stream) = ten_player_stream();
    let mut quantizer = binary::Quantizer::new(Arc::new(params.clone()));
    let mut previous: Option<binary::QuantizedSnapshot> = None;
    let mut i = 0;
    g.bench_function("encode_stream_v2", |b| {
        b.iter(|| {
            let (snapshot, _) = &stream[i % stream.len()];
            i += 1;
            let q = quantizer.quantize(black_box(snapshot)).unwrap();
            let bytes = binary::encode(&params, previous.as_ref(), &q);
            previous = Some(q);
            black_box(bytes)
        })
    });
    let mut i = 0;
    g.bench_function("encode_stream_json", |b| {
        b.iter(|| {
            let (snapshot, poses) = &stream[i % stream.len()];
            i += 1;
            for pose in poses {
                black_box(protocol::encode(&ServerMsg::Player(black_box(pose))));
            }
            black_box(protocol::encode(&ServerMsg::Snapshot(black_box(snapshot))))
        })
    });
    let decodes = [
        (
            "decode_kick",
            r#"{"type":"kick","ball":1,"impulse":{"x":0,"y":60,"z":80},"seq":12}"#,
        ),
        (
            "decode_player",
            r#"{"type":"player","position":[8.5,0,9.5],"rotation":[0,0.38,0,0.92]}"#,
        ),
        ("decode_ping", r#"{"type":"ping","t":1712345678901}"#),
        ("decode_join_team", r#"{"type":"join_team","team":"red"}"#),
        ("decode_state", r#"{"type":"state"}"#),
        (
            "classify_relay",
            r#"{"type":1,"user":"alice","ball":2,"vector":{"x":0.1,"y":0.5,"z":0.8},"vectorScale":100}"#,
        ),
        (
            "classify_reject",
            r#"{"type":"snapshot","tick":1,"balls":[]}"#,
        ),
    ];
    for (name, text) in decodes {
        g.bench_function(name, |b| {
            b.iter(|| black_box(protocol::classify_text(black_box(text))))
        });
    }
    g.finish();
    // Keep the decoder honest: these are the commands the benches think they are.
    assert!(matches!(
        protocol::classify_text(decodes[0].1),
        protocol::Inbound::Command(Command::Room(Input::Kick(_)))
    ));
}

criterion_group!(benches, tick, fanout, fanout_binary, codec);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    summary::print();
}

/// Ratios from the medians criterion saved in this run.
mod summary {
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        target.join("criterion")
    }

    /// Median time in nanoseconds of `group/bench`, if it ran.
    fn median(group: &str, bench: &str) -> Option<f64> {
        let path = dir().join(group).join(bench).join("new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    }

    pub fn print() {
        let Some(floor) = median("kickballs", "floor") else {
            return; // a filtered or test-mode run
        };
        println!("\n=== ballroom summary (criterion medians from this run) ===");
        println!(
            "floor (bare rapier step, kickballs, awake, a kick every 2 s): {:>8.0} ns",
            floor
        );
        if let Some(t) = median("kickballs", "room_tick") {
            println!(
                "room tick:                         {:>10.0} ns  = {:.2} x floor (target <= 1.2)",
                t,
                t / floor
            );
        }
        if let (Some(f), Some(t)) = (
            median("kickballs", "floor_kick_every_tick"),
            median("kickballs", "room_tick_kick_every_tick"),
        ) {
            println!(
                "with a kick every tick: floor {f:>8.0} ns, room tick {t:>8.0} ns  = {:.2} x floor",
                t / f
            );
        }
        if let (Some(rest), Some(active)) = (
            median("kickballs", "at_rest"),
            median("kickballs", "room_tick"),
        ) {
            println!(
                "room at rest:                      {:>10.1} ns  = {:.2} % of an active room tick (target <= 5 %)",
                rest,
                100.0 * rest / active
            );
        }
        for n in [1u32, 100, 1_000, 10_000] {
            if let Some(t) = median("many_rooms", &n.to_string()) {
                let per_sec = f64::from(n) / (t * 1e-9);
                println!(
                    "{n:>6} rooms ticked once:          {:>10.0} ns  = {:>9.0} room-ticks/s on one core = {:>6.0} rooms at 60 Hz (target >= 2000)",
                    t,
                    per_sec,
                    per_sec / 60.0
                );
            }
        }
        if let (Some(json), Some(key), Some(delta)) = (
            median("codec", "encode_snapshot_json_10_players"),
            median("codec", "encode_snapshot_v2_key"),
            median("codec", "encode_snapshot_v2_delta"),
        ) {
            println!(
                "10-player snapshot: JSON {json:.0} ns, v2 keyframe {key:.0} ns ({:.2} x), v2 delta {delta:.0} ns ({:.2} x)",
                key / json,
                delta / json
            );
        }
        if let (Some(json), Some(v2)) = (
            median("codec", "encode_stream_json"),
            median("codec", "encode_stream_v2"),
        ) {
            println!(
                "10-player room, per snapshot of a 3 s stream: JSON snapshot + changed poses {json:.0} ns, v2 {v2:.0} ns = {:.2} x (target <= 1)",
                v2 / json
            );
        }
        let one = median("fanout", "1");
        if let (Some(one), Some(fifty)) = (one, median("fanout", "50")) {
            let per_client = (fifty - one) / 49.0;
            println!(
                "fan-out: encode + 1 client {:.0} ns, + 50 clients {:.0} ns: {:.1} ns per extra client",
                one, fifty, per_client
            );
            if let Some(enc) = median("codec", "encode_snapshot") {
                println!(
                    "         an extra client costs {:.1} % of one snapshot encode ({:.0} ns)",
                    100.0 * per_client / enc,
                    enc
                );
            }
        }
        if let (Some(one), Some(fifty)) = (median("fanout_v2", "1"), median("fanout_v2", "50")) {
            let per_client = (fifty - one) / 49.0;
            println!(
                "binary fan-out: quantize + delta + 1 client {:.0} ns, + 50 clients {:.0} ns: {:.1} ns per extra client (a shared frame)",
                one, fifty, per_client
            );
        }
    }
}
