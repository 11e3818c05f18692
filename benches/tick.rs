//! Tick cost: the bare rapier step of the `kickballs` scene (the floor) beside ballroom's
//! room tick on the same scene, plus the snapshot codec. Run with `cargo bench`; the
//! floor and the room tick run in the same process so their ratio holds on a noisy machine.

use std::hint::black_box;

use ballroom::protocol::{self, ServerMsg, Vec3};
use ballroom::room::{Room, SimConfig};
use ballroom::scene::SceneLibrary;
use criterion::{Criterion, criterion_group, criterion_main};

fn kickballs() -> Room {
    Room::new(
        SceneLibrary::builtin().get("kickballs").unwrap(),
        SimConfig::default(),
    )
}

fn tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("kickballs");
    // Balls are woken before every step in both, so both measure an active world.
    g.bench_function("floor: bare PhysicsWorld step", |b| {
        let mut world = kickballs().into_world();
        b.iter(|| {
            world.wake_up_all(true);
            world.step();
        })
    });
    g.bench_function("room tick (snapshot when due)", |b| {
        let mut room = kickballs();
        b.iter(|| {
            room.wake_all();
            black_box(room.tick());
        })
    });
    g.bench_function("room tick with a kick every tick", |b| {
        // Lift the per-client kick rate limit so every tick really applies a kick.
        let mut scene = (*SceneLibrary::builtin().get("kickballs").unwrap()).clone();
        scene.kick_rules.rate = 1e6;
        scene.kick_rules.burst = 1e6;
        let mut room = Room::new(std::sync::Arc::new(scene), SimConfig::default());
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            let dir = if n % 2 == 0 { 5.0 } else { -5.0 };
            room.queue_kick(1, n % 3, Vec3([dir, 0.0, 0.0]), None, Some(u64::from(n)))
                .unwrap();
            black_box(room.tick());
        })
    });
    g.bench_function("room tick at rest", |b| {
        let mut room = kickballs();
        while !room.is_at_rest() {
            room.tick();
        }
        b.iter(|| black_box(room.tick()))
    });
    g.finish();
}

fn codec(c: &mut Criterion) {
    let mut room = kickballs();
    for _ in 0..10 {
        room.tick();
    }
    let snapshot = room.snapshot();
    c.bench_function("encode snapshot (3 balls)", |b| {
        b.iter(|| black_box(protocol::encode(&ServerMsg::Snapshot(black_box(&snapshot)))))
    });
    let kick = r#"{"type":"kick","ball":1,"impulse":{"x":0,"y":60,"z":80},"seq":12}"#;
    c.bench_function("decode kick", |b| {
        b.iter(|| black_box(protocol::classify_text(black_box(kick))))
    });
    let relay = r#"{"type":1,"user":"alice","ball":2,"vector":{"x":0.1,"y":0.5,"z":0.8},"vectorScale":100}"#;
    c.bench_function("classify relayed message", |b| {
        b.iter(|| black_box(protocol::classify_text(black_box(relay))))
    });
}

criterion_group!(benches, tick, codec);
criterion_main!(benches);
