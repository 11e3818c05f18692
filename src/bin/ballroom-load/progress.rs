//! The progress line the live counters ([`crate::context::Live`]) make on stderr once a
//! second.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::time::sleep_until;

use crate::args::LoadMode;
use crate::context::{Ctx, deadline};

/// One progress line a second on stderr.
pub async fn progress(ctx: Arc<Ctx>) {
    let live = &ctx.live;
    let mut last_frames = 0;
    let mut last_sent = 0;
    let mut last_watched = 0;
    let mut next = ctx.t0 + Duration::from_secs(1);
    loop {
        sleep_until(deadline(next)).await;
        let now = Instant::now();
        let phase = if now < ctx.window_start {
            "warmup"
        } else if now < ctx.window_end {
            "measure"
        } else {
            "drain"
        };
        let frames = live.frames.load(Ordering::Relaxed);
        let p99 = live
            .hist
            .quantile(0.99)
            .map_or("-".to_owned(), |v| format!("{v:.1} ms"));
        let head = format!(
            "[{:6.1}s {phase:7}] connected {}/{} (failed {}), recv {} msg/s",
            now.duration_since(ctx.t0).as_secs_f64(),
            live.connected_now.load(Ordering::Relaxed),
            ctx.args.clients,
            live.failed.load(Ordering::Relaxed),
            frames - last_frames,
        );
        last_frames = frames;
        let watched = live.spectator_snapshots.load(Ordering::Relaxed);
        let spectators = match ctx.args.spectators {
            0 => String::new(),
            n => format!(
                ", spectators {}/{n} (failed {}) {} snapshots/s",
                live.spectators_now.load(Ordering::Relaxed),
                live.spectators_failed.load(Ordering::Relaxed),
                watched - last_watched,
            ),
        };
        last_watched = watched;
        match ctx.args.mode {
            LoadMode::Physics => eprintln!(
                "{head}, kicks sent {} acked {}, kick->snapshot p99 {p99}{spectators}",
                live.kicks_sent.load(Ordering::Relaxed),
                live.kicks_acked.load(Ordering::Relaxed),
            ),
            LoadMode::Soak => eprintln!(
                "{head}, kicks sent {} acked {}, churn/slow/garbage sessions {}",
                live.kicks_sent.load(Ordering::Relaxed),
                live.kicks_acked.load(Ordering::Relaxed),
                live.soak_sessions.load(Ordering::Relaxed),
            ),
            LoadMode::Relay => {
                let sent = live.relay_sent.load(Ordering::Relaxed);
                eprintln!(
                    "{head}, sent {} msg/s, delivered {}, latency p99 {p99}",
                    sent - last_sent,
                    live.relay_delivered.load(Ordering::Relaxed),
                );
                last_sent = sent;
            }
        }
        next += Duration::from_secs(1);
    }
}
