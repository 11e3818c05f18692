//! `ballroom-load`: a load generator and latency probe for a running ballroom server.
//!
//! Three modes:
//!
//! - `physics` (default): protocol clients (`?scene=kickballs`) spread over rooms, each
//!   standing still next to "its" ball, reporting that pose and kicking the ball now and then
//!   with a numbered `seq`. Measures the time from a kick to the first snapshot whose
//!   `acks` show it, snapshot inter-arrival jitter, missed snapshots (tick gaps), bytes
//!   received, and with `--server-pid` the server's CPU time and memory. `--spectators`
//!   adds clients that only watch (`?spectate=1`) and count their snapshots, reading a
//!   binary snapshot's header only.
//! - `relay`: plain clients (`?echo=true`); some of them send small JSON messages that the
//!   server relays to the whole room. Measures delivery (every client must receive every
//!   message of its room) and latency. Relies on nothing ballroom-specific, so it also
//!   works against other broadcast servers.
//! - `soak`: the physics clients above stay for the whole window and are checked for
//!   every snapshot, while other clients churn around them: joining and leaving rooms
//!   (politely or by dropping the socket), stopping reading, and sending garbage. The
//!   server's `/metrics` gauges and memory are sampled through the run and after it, to
//!   show that connections, rooms, tasks and RSS return to where they started; a verdict
//!   (a list of checks) goes into the summary and to stderr, and the exit status is 1 if a
//!   check failed. See [`soak`].
//!
//! Progress goes to stderr once a second; the result is one JSON object on stdout, with the
//! tool's own CPU over the window ([`own_cpu`]).
//! Only loopback targets are allowed unless `--allow-remote` is given.
//!
//! Code map: [`args`] and [`startup`] check what the run is asked to do; [`run`] runs it on
//! the shared [`context`]; [`connect`] holds the WebSocket plumbing that [`physics`],
//! [`spectator`] and [`relay`] clients use, connecting from the loopback addresses of [`source`] in turn; [`stats`] what they measure and [`progress`] the live line;
//! [`server_watch`] reads the server's /proc and /metrics; [`report`] is the typed JSON
//! summary; [`soak`] adds the churning, slow and garbage clients and the verdict.

use std::time::Duration;

use clap::Parser;

mod args;
mod connect;
mod context;
mod own_cpu;
mod physics;
mod proc_stat;
mod progress;
mod relay;
mod report;
mod rng;
mod run;
mod server_watch;
mod snapshots;
mod soak;
mod source;
mod spectator;
mod startup;
mod stats;
mod verdict;

fn main() {
    let args = args::Args::parse();
    let prepared = match startup::prepare(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ballroom-load: error: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ballroom-load: error: cannot start the runtime: {e}");
            std::process::exit(2);
        }
    };
    let outcome = rt.block_on(run::run(args, prepared));
    rt.shutdown_timeout(Duration::from_secs(1));
    println!("{}", outcome.to_json());
    outcome.eprint();
    if outcome.report.connections.connected == 0 {
        eprintln!("ballroom-load: error: no client could connect");
        std::process::exit(1);
    }
    if let Some(verdict) = &outcome.verdict
        && !verdict.passed
    {
        eprintln!(
            "ballroom-load: soak verdict: FAIL ({} of {} checks failed)",
            verdict.failed(),
            verdict.checks.len()
        );
        std::process::exit(1);
    }
}
