//! A fixed amount of many-room work for profilers (`perf record`, callgrind): ROOMS active
//! `kickballs` rooms ticked TICKS times each, with the kick pattern of the `many_rooms`
//! bench. `cargo run --release --example profile_rooms -- [TICKS] [ROOMS]` (defaults 600
//! and 1000).

use std::sync::Arc;

use ballroom::protocol::{self, ServerMsg};
use ballroom::room::{Input, Kick, Room, SimConfig};
use ballroom::scene::SceneLibrary;

fn main() {
    let ticks: u64 = std::env::args().nth(1).map_or(600, |a| a.parse().unwrap());
    let count: usize = std::env::args().nth(2).map_or(1000, |a| a.parse().unwrap());
    let mut scene = (*SceneLibrary::builtin().get("kickballs").unwrap()).clone();
    scene.kick_rules.rate = 1e9;
    scene.kick_rules.burst = 1e9;
    let scene = Arc::new(scene);
    let mut rooms: Vec<Room> = (0..count)
        .map(|_| Room::new(scene.clone(), SimConfig::default()))
        .collect();
    let started = std::time::Instant::now();
    for t in 1..=ticks {
        for (i, room) in rooms.iter_mut().enumerate() {
            if (t + i as u64).is_multiple_of(120) {
                let kick = Kick {
                    ball: (t % 3) as u32,
                    impulse: [8.0, 0.0, 3.0],
                    point: None,
                    seq: Some(t),
                    seen_at: None,
                    tick: None,
                };
                let _ = room.apply(1, Input::Kick(kick));
            }
            room.wake_all();
            let out = room.tick();
            if let Some(s) = &out.snapshot {
                std::hint::black_box(protocol::encode(&ServerMsg::Snapshot(s)));
            }
        }
    }
    let per = started.elapsed().as_secs_f64() / (ticks as f64 * count as f64);
    println!(
        "{:.2} µs per room tick ({ticks} ticks x {count} rooms)",
        per * 1e6
    );
}
