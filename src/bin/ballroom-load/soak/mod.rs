//! Soak mode: the steady physics clients of [`crate::physics`] stay for the whole window
//! and are checked for every snapshot, while three other populations churn around them:
//!
//! - **churners** join a random room (one of 2 × `--rooms`, so rooms also open and close),
//!   stay about `--churn-stay` seconds, and leave, one time in four by dropping the socket
//!   without a close frame. Half their sessions are physics clients, checked for snapshot
//!   gaps like the steady ones; half are plain clients that relay a message every half
//!   second and check that each one comes back (echo).
//! - **slow** clients join a steady room with a 4 KiB receive buffer and stop reading for
//!   `--slow-stall` seconds, then read what is left: the server must either have kept them
//!   (skipping snapshots) or closed them with 1008 "too slow", never anything else.
//! - **garbage** clients open connection after connection, each with one kind of bad input
//!   ([`garbage::Junk`]), and check that the server answers it as documented.
//!
//! The server is watched from outside: its `/metrics` gauges (connections, rooms, tokio
//! tasks) are read before the first client connects, through the run, and after the last
//! one leaves until they are back where they started (at most `--settle` seconds); with
//! `--server-pid`, its RSS is read alongside ([`crate::server_watch`]).
//!
//! The verdict (`verdict.rs`, beside the report) judges the whole report: a list of checks,
//! each with what it measured.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::timeout_at;

use crate::context::{Ctx, lock};
use crate::server_watch::{Gauges, TimelinePoint, watch};
use crate::stats::round3;

mod churn;
mod garbage;
mod slow;

use churn::{Churn, ChurnReport};
use garbage::{Garbage, GarbageReport};
use slow::Slow;

/// The running soak populations and the server watcher.
pub struct Soak {
    ctx: Arc<Ctx>,
    before: Gauges,
    churn: Arc<Mutex<Churn>>,
    slow: Arc<Mutex<Slow>>,
    garbage: Arc<Mutex<Garbage>>,
    timeline: Arc<Mutex<Vec<TimelinePoint>>>,
    tasks: Vec<JoinHandle<()>>,
    watcher: JoinHandle<()>,
}

/// The `soak` section of the report.
#[derive(Serialize)]
pub struct SoakReport {
    pub churn: ChurnReport,
    pub slow: Slow,
    pub garbage: GarbageReport,
    pub server: ServerSide,
    pub abandoned_at_hard_deadline: usize,
}

/// The server seen from outside, before, during and after the run.
#[derive(Serialize)]
pub struct ServerSide {
    pub before: Gauges,
    pub after: Gauges,
    /// Connections, rooms and tasks came back to where they were before.
    pub settled: bool,
    pub settled_after_s: Option<f64>,
    /// RSS growth over the second half of the window: flat means about zero.
    pub rss_growth_second_half_kib: Option<i64>,
    pub timeline: Vec<TimelinePoint>,
}

impl Soak {
    /// Read the server's gauges, then start every population (they wait for the window).
    pub async fn start(ctx: Arc<Ctx>) -> Soak {
        let before = Gauges::read(&ctx).await;
        let churn = Arc::<Mutex<Churn>>::default();
        let slow = Arc::<Mutex<Slow>>::default();
        let garbage = Arc::<Mutex<Garbage>>::default();
        let timeline = Arc::<Mutex<Vec<TimelinePoint>>>::default();
        let a = &ctx.args;
        let mut tasks = Vec::new();
        for n in 0..a.churners as usize {
            tasks.push(tokio::spawn(churn::client(ctx.clone(), churn.clone(), n)));
        }
        for n in 0..a.slow as usize {
            tasks.push(tokio::spawn(slow::client(ctx.clone(), slow.clone(), n)));
        }
        for n in 0..a.garbage as usize {
            tasks.push(tokio::spawn(garbage::client(
                ctx.clone(),
                garbage.clone(),
                n,
            )));
        }
        let watcher = tokio::spawn(watch(ctx.clone(), timeline.clone()));
        Soak {
            ctx,
            before,
            churn,
            slow,
            garbage,
            timeline,
            tasks,
            watcher,
        }
    }

    /// Wait for the populations (abandoning any still running at `hard_end`), then for the
    /// server's gauges to return to where they started; summarize.
    pub async fn finish(self, hard_end: tokio::time::Instant) -> SoakReport {
        let mut abandoned = 0;
        for task in self.tasks {
            let abort = task.abort_handle();
            if timeout_at(hard_end, task).await.is_err() {
                abort.abort();
                abandoned += 1;
            }
        }
        self.watcher.abort();
        let (after, settled_after) = Gauges::settle(&self.ctx, &self.before).await;
        let timeline = std::mem::take(&mut *lock(&self.timeline));
        let rss: Vec<u64> = timeline.iter().filter_map(|p| p.gauges.rss_kib).collect();
        let growth =
            (rss.len() >= 2).then(|| rss[rss.len() - 1] as i64 - rss[rss.len() / 2] as i64);
        SoakReport {
            churn: lock(&self.churn).report(),
            slow: std::mem::take(&mut *lock(&self.slow)),
            garbage: lock(&self.garbage).report(),
            server: ServerSide {
                before: self.before,
                after,
                settled: settled_after.is_some(),
                settled_after_s: settled_after.map(|d| round3(d.as_secs_f64())),
                rss_growth_second_half_kib: growth,
                timeline,
            },
            abandoned_at_hard_deadline: abandoned,
        }
    }
}

impl ServerSide {
    /// The server's gauges through the run, on stderr.
    pub fn eprint_gauges(&self) {
        let cell = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
        let row = |label: &str, g: &Gauges| {
            eprintln!(
                "{label:>7} {:>9} {:>11} {:>6} {:>6}",
                g.rss_kib.map_or("-".to_owned(), |v| v.to_string()),
                cell(g.connections),
                cell(g.rooms),
                cell(g.tasks),
            );
        };
        eprintln!("\n=== server gauges over the run (t in s since start) ===");
        eprintln!(
            "{:>7} {:>9} {:>11} {:>6} {:>6}",
            "t", "rss_kib", "connections", "rooms", "tasks"
        );
        for p in &self.timeline {
            row(&p.t.to_string(), &p.gauges);
        }
        row("before", &self.before);
        row("after", &self.after);
    }
}
