//! One run: start the steady clients (and in soak mode the other populations), the progress
//! line and the /proc sampler; wait for them, bounded by the hard deadline; make the report.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use tokio::time::timeout_at;

use crate::args::{Args, LoadMode};
use crate::connect::{Ended, close_politely, connect};
use crate::context::{Ctx, deadline, lock};
use crate::physics::Session;
use crate::progress::progress;
use crate::report::Report;
use crate::rng::Rng;
use crate::server_watch::{ServerFigures, sample_server};
use crate::soak::Soak;
use crate::startup::Prepared;
use crate::stats::ClientStats;
use crate::verdict::Outcome;
use crate::{physics, relay};

pub async fn run(args: Args, prepared: Prepared) -> Outcome {
    let ctx = Arc::new(Ctx::new(args, &prepared));
    let args = &ctx.args;
    eprintln!(
        "ballroom-load: {} mode, {} clients in {} rooms against {} ({}), warmup {} s, window {} s",
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

    let stats: Vec<Arc<Mutex<ClientStats>>> = (0..args.clients as usize)
        .map(|i| {
            Arc::new(Mutex::new(ClientStats {
                room: i % args.rooms as usize,
                ..Default::default()
            }))
        })
        .collect();
    let mut tasks = Vec::with_capacity(stats.len());
    for (i, s) in stats.iter().enumerate() {
        tasks.push(tokio::spawn(steady_client(ctx.clone(), i, s.clone())));
    }
    let progress = tokio::spawn(progress(ctx.clone()));

    let hard_end = deadline(ctx.hard_end);
    let mut abandoned = 0usize;
    for task in tasks.iter_mut() {
        if timeout_at(hard_end, task).await.is_err() {
            abandoned += 1;
        }
    }
    for task in &tasks {
        task.abort();
    }
    let soak = match soak {
        Some(s) => Some(s.finish(hard_end).await),
        None => None,
    };
    progress.abort();
    let server = sampler.map(|h| {
        h.join()
            .unwrap_or_else(|_| ServerFigures::failed("sampler panicked"))
    });

    let stats: Vec<ClientStats> = stats
        .iter()
        .map(|s| std::mem::take(&mut *lock(s)))
        .collect();
    Outcome::of(Report::new(
        &ctx, &prepared, &stats, server, abandoned, soak,
    ))
}

/// One steady client: connect (through the concurrency gate), run its mode's session, close.
async fn steady_client(ctx: Arc<Ctx>, idx: usize, stats: Arc<Mutex<ClientStats>>) {
    let query = if ctx.args.mode.physics() {
        ctx.scene_query()
    } else {
        "echo=true".to_owned()
    };
    let path = ctx.room_path(idx % ctx.args.rooms as usize, &query);
    let ws = match connect(&ctx, &path).await {
        Ok(ws) => ws,
        Err(e) => {
            ctx.live.failed.fetch_add(1, Ordering::Relaxed);
            lock(&stats).connect_error = Some(e);
            return;
        }
    };
    {
        let mut s = lock(&stats);
        s.connected = true;
        s.connected_after = Some(ctx.t0.elapsed());
    }
    ctx.live.connected_now.fetch_add(1, Ordering::Relaxed);
    let mut rng = Rng(ctx.seed ^ (idx as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let (mut tx, mut rx) = ws.split();
    let ended = if ctx.args.mode.physics() {
        let session = Session {
            // The k-th client of a room kicks ball k mod n.
            local: idx / ctx.args.rooms as usize,
            stop: ctx.window_end,
            drain: ctx.drain_end,
        };
        physics::run(&ctx, &session, &mut tx, &mut rx, &stats, &mut rng).await
    } else {
        relay::run(&ctx, idx, &mut tx, &mut rx, &stats, &mut rng).await
    };
    ctx.live.connected_now.fetch_sub(1, Ordering::Relaxed);
    match ended {
        Ended::Done => close_politely(tx, rx).await,
        Ended::Early(reason) => {
            if Instant::now() < ctx.window_end {
                lock(&stats).ended_early = Some(reason);
            }
        }
    }
}
