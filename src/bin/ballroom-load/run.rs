//! One run: start the steady clients and spectators (and in soak mode the other
//! populations), the progress line and the /proc samplers (the server's, the tool's own);
//! wait for them, bounded by the hard deadline; make the report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use tokio::time::timeout_at;

use crate::args::{Args, LoadMode};
use crate::connect::{Ended, close_politely, connect};
use crate::context::{Ctx, deadline, lock};
use crate::own_cpu::LoadToolCpu;
use crate::physics::Session;
use crate::progress::progress;
use crate::report::{Report, SpectatorsReport};
use crate::rng::Rng;
use crate::server_watch::{ServerFigures, sample_server};
use crate::soak::Soak;
use crate::startup::Prepared;
use crate::stats::ClientStats;
use crate::verdict::Outcome;
use crate::{physics, relay, spectator};

pub async fn run(args: Args, prepared: Prepared) -> Outcome {
    let ctx = Arc::new(Ctx::new(args, &prepared));
    let args = &ctx.args;
    let watching = match args.spectators {
        0 => String::new(),
        n => format!(" and {n} spectators"),
    };
    eprintln!(
        "ballroom-load: {} mode, {} clients{watching} in {} rooms against {} ({}), warmup {} s, \
         window {} s",
        args.mode.name(),
        args.clients,
        args.rooms,
        args.addr,
        ctx.target,
        args.warmup,
        args.duration
    );

    let soak = match args.mode {
        LoadMode::Soak => Some(Soak::start(ctx.clone()).await),
        _ => None,
    };

    let sampler = args.server_pid.map(|pid| {
        let (start, end) = (ctx.window_start, ctx.window_end);
        std::thread::spawn(move || sample_server(pid, start, end))
    });
    let own_cpu = {
        let (start, end) = (ctx.window_start, ctx.window_end);
        std::thread::spawn(move || LoadToolCpu::measure(start, end))
    };

    let players = Population::start(&ctx, Role::Steady, args.clients);
    let spectators = Population::start(&ctx, Role::Spectator, args.spectators);
    let progress = tokio::spawn(progress(ctx.clone()));

    let hard_end = deadline(ctx.hard_end);
    let (stats, abandoned) = players.finish(hard_end).await;
    let (spectator_stats, spectators_abandoned) = spectators.finish(hard_end).await;
    let soak = match soak {
        Some(s) => Some(s.finish(hard_end).await),
        None => None,
    };
    progress.abort();
    let server = sampler.map(|h| {
        h.join()
            .unwrap_or_else(|_| ServerFigures::failed("sampler panicked"))
    });
    let own_cpu = own_cpu
        .join()
        .unwrap_or_else(|_| LoadToolCpu::failed("sampler panicked"));

    let mut report = Report::new(&ctx, &prepared, &stats, server, own_cpu, abandoned, soak);
    report.spectators = (args.spectators > 0)
        .then(|| SpectatorsReport::new(&ctx, &spectator_stats, spectators_abandoned));
    Outcome::of(report)
}

/// What a client of the run is.
#[derive(Clone, Copy)]
enum Role {
    /// A steady client of the run's mode: a physics player or a relay client.
    Steady,
    /// A `--spectators` client: watches a room with `?spectate=1`.
    Spectator,
}

impl Role {
    /// The live counters of clients connected now and of failed connections.
    fn counters(self, ctx: &Ctx) -> (&AtomicU64, &AtomicU64) {
        match self {
            Role::Steady => (&ctx.live.connected_now, &ctx.live.failed),
            Role::Spectator => (&ctx.live.spectators_now, &ctx.live.spectators_failed),
        }
    }
}

/// The clients of one role, running, each with its figures.
struct Population {
    stats: Vec<Arc<Mutex<ClientStats>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Population {
    /// `n` clients of `role`; client i goes to room i mod ROOMS.
    fn start(ctx: &Arc<Ctx>, role: Role, n: u32) -> Population {
        let stats: Vec<Arc<Mutex<ClientStats>>> = (0..n as usize)
            .map(|i| {
                Arc::new(Mutex::new(ClientStats {
                    room: i % ctx.args.rooms as usize,
                    ..Default::default()
                }))
            })
            .collect();
        let tasks = stats
            .iter()
            .enumerate()
            .map(|(i, s)| tokio::spawn(client(ctx.clone(), role, i, s.clone())))
            .collect();
        Population { stats, tasks }
    }

    /// Wait for every client until `hard_end`: their figures, and how many were abandoned.
    async fn finish(mut self, hard_end: tokio::time::Instant) -> (Vec<ClientStats>, usize) {
        let mut abandoned = 0usize;
        for task in self.tasks.iter_mut() {
            if timeout_at(hard_end, task).await.is_err() {
                abandoned += 1;
            }
        }
        for task in &self.tasks {
            task.abort();
        }
        let stats = self
            .stats
            .iter()
            .map(|s| std::mem::take(&mut *lock(s)))
            .collect();
        (stats, abandoned)
    }
}

/// One client: connect (through the concurrency gate), run its session, close.
async fn client(ctx: Arc<Ctx>, role: Role, idx: usize, stats: Arc<Mutex<ClientStats>>) {
    let query = match role {
        Role::Spectator => format!("{}&spectate=1", ctx.scene_query()),
        Role::Steady if ctx.args.mode.physics() => ctx.scene_query(),
        Role::Steady => "echo=true".to_owned(),
    };
    let path = ctx.room_path(idx % ctx.args.rooms as usize, &query);
    let (connected_now, failed) = role.counters(&ctx);
    let ws = match connect(&ctx, &path).await {
        Ok(ws) => ws,
        Err(e) => {
            failed.fetch_add(1, Ordering::Relaxed);
            lock(&stats).connect_error = Some(e);
            return;
        }
    };
    {
        let mut s = lock(&stats);
        s.connected = true;
        s.connected_after = Some(ctx.t0.elapsed());
    }
    connected_now.fetch_add(1, Ordering::Relaxed);
    let salt = match role {
        Role::Steady => 0,
        Role::Spectator => 0x5BEC_7A70,
    };
    let mut rng = Rng(ctx.seed ^ salt ^ (idx as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let (mut tx, mut rx) = ws.split();
    let ended = match role {
        Role::Spectator => spectator::run(&ctx, &mut rx, &stats, &mut rng).await,
        Role::Steady if ctx.args.mode.physics() => {
            let session = Session {
                // The k-th client of a room kicks ball k mod n.
                local: idx / ctx.args.rooms as usize,
                stop: ctx.window_end,
                drain: ctx.drain_end,
            };
            physics::run(&ctx, &session, &mut tx, &mut rx, &stats, &mut rng).await
        }
        Role::Steady => relay::run(&ctx, idx, &mut tx, &mut rx, &stats, &mut rng).await,
    };
    connected_now.fetch_sub(1, Ordering::Relaxed);
    match ended {
        Ended::Done => close_politely(tx, rx).await,
        Ended::Early(reason) => {
            if Instant::now() < ctx.window_end {
                lock(&stats).ended_early = Some(reason);
            }
        }
    }
}
