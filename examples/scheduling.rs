//! Scheduling experiment: how should thousands of rooms share the cores?
//!
//! Runs N `kickballs` rooms at 60 Hz for a few seconds under two schedulers, one after the
//! other in the same process, with the real `Room::tick` and snapshot encoding (no sockets):
//!
//! - `task`: one tokio task per room, each sleeping until its own tick deadline (rooms start
//!   at different moments, as they do in the server, so deadlines are spread out);
//! - `pool`: one worker thread per core, each owning a shard of rooms and stepping all of
//!   them back to back on one shared 60 Hz clock.
//!
//! For every room tick it records the lateness (start of that room's tick minus its
//! deadline), and for each scheduler the process CPU seconds used. Balls are kept awake and
//! every room gets a kick every 2 s, so every room is active.
//!
//! `cargo run --release --example scheduling -- [ROOMS] [SECONDS]` (defaults 1000 and 10).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ballroom::protocol::{self, ServerMsg};
use ballroom::room::{Input, Kick, Room, SimConfig};
use ballroom::scene::{Scene, SceneLibrary};

const RATE: f64 = 60.0;

fn scene() -> Arc<Scene> {
    let mut s = (*SceneLibrary::builtin().get("kickballs").unwrap()).clone();
    s.kick_rules.rate = 1e9;
    s.kick_rules.burst = 1e9;
    Arc::new(s)
}

fn tick(room: &mut Room, n: u64, i: usize) {
    if (n + i as u64).is_multiple_of(120) {
        let kick = Kick {
            ball: (n % 3) as u32,
            impulse: [6.0, 0.0, 2.0],
            point: None,
            seq: Some(n),
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

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn report(name: &str, mut lateness: Vec<f64>, cpu: f64, seconds: f64, rooms: usize) {
    lateness.sort_by(f64::total_cmp);
    let q = |p: f64| lateness[((lateness.len() as f64 - 1.0) * p) as usize] * 1e3;
    let expected = rooms as f64 * RATE * seconds;
    println!(
        "{name:>4}: {rooms} rooms, {:.0} room-ticks ({:.1} % of the {:.0} due), lateness p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, CPU {:.2} s over {seconds} s ({:.0} % of one core)",
        lateness.len(),
        100.0 * lateness.len() as f64 / expected,
        expected,
        q(0.5),
        q(0.99),
        q(1.0),
        cpu,
        100.0 * cpu / seconds
    );
}

fn run_tasks(rooms: usize, seconds: f64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let cpu0 = cpu_seconds();
    let lateness = rt.block_on(async {
        let period = Duration::from_secs_f64(1.0 / RATE);
        let begin = tokio::time::Instant::now();
        let end = begin + Duration::from_secs_f64(seconds);
        let mut handles = Vec::new();
        for i in 0..rooms {
            // Rooms open at different moments: spread their phases over one period.
            let start = begin + period.mul_f64(i as f64 / rooms as f64);
            handles.push(tokio::spawn(async move {
                let mut room = Room::new(scene(), SimConfig::default());
                let mut late = Vec::with_capacity((seconds * RATE) as usize + 1);
                let mut n = 0u64;
                loop {
                    n += 1;
                    let deadline = start + period.mul_f64(n as f64);
                    if deadline > end {
                        break;
                    }
                    tokio::time::sleep_until(deadline).await;
                    late.push((tokio::time::Instant::now() - deadline).as_secs_f64());
                    tick(&mut room, n, i);
                }
                late
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all
    });
    report("task", lateness, cpu_seconds() - cpu0, seconds, rooms);
}

fn run_pool(rooms: usize, seconds: f64) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cpu0 = cpu_seconds();
    let begin = Instant::now();
    let period = Duration::from_secs_f64(1.0 / RATE);
    let threads: Vec<_> = (0..workers)
        .map(|w| {
            std::thread::spawn(move || {
                let mut shard: Vec<Room> = (w..rooms)
                    .step_by(workers)
                    .map(|_| Room::new(scene(), SimConfig::default()))
                    .collect();
                let mut late = Vec::new();
                let mut n = 0u64;
                loop {
                    n += 1;
                    let deadline = begin + period.mul_f64(n as f64);
                    if deadline > begin + Duration::from_secs_f64(seconds) {
                        break;
                    }
                    if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    for (i, room) in shard.iter_mut().enumerate() {
                        late.push((Instant::now() - deadline).as_secs_f64());
                        tick(room, n, i);
                    }
                }
                late
            })
        })
        .collect();
    let lateness: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    report("pool", lateness, cpu_seconds() - cpu0, seconds, rooms);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rooms: usize = args.next().map_or(1000, |a| a.parse().unwrap());
    let seconds: f64 = args.next().map_or(10.0, |a| a.parse().unwrap());
    println!(
        "{} cores; {rooms} active kickballs rooms at {RATE} Hz for {seconds} s per scheduler",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    run_tasks(rooms, seconds);
    run_pool(rooms, seconds);
}
