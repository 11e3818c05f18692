//! `ballroom-load`: a load generator and latency probe for a running ballroom server.
//!
//! Three modes:
//!
//! - `physics` (default): protocol clients (`?scene=kickballs`) spread over rooms, each
//!   standing still next to "its" ball, reporting that pose and kicking the ball now and then
//!   with a numbered `seq`. Measures the time from a kick to the first snapshot whose
//!   `acks` show it, snapshot inter-arrival jitter, missed snapshots (tick gaps), bytes
//!   received, and with `--server-pid` the server's CPU time and memory.
//! - `relay`: plain clients (`?echo=true`); some of them send small JSON messages that the
//!   server relays to the whole room. Measures delivery (every client must receive every
//!   message of its room) and latency. Relies on nothing ballroom-specific, so it also
//!   works against other broadcast servers.
//! - `soak`: the physics clients above stay for the whole window and are checked for
//!   every snapshot, while other clients churn around them: joining and leaving rooms
//!   (politely or by dropping the socket), stopping reading, and sending garbage. The
//!   server's `/metrics` gauges and memory are sampled through the run and after it, to
//!   show that connections, rooms, tasks and RSS return to where they started. See
//!   [`soak`].
//!
//! Progress goes to stderr once a second; the result is one JSON object on stdout.
//! Only loopback targets are allowed unless `--allow-remote` is given.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{sleep_until, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

mod soak;

/// Most clients one run may open.
const MAX_CLIENTS: u32 = 20_000;
/// File descriptors kept for everything that is not a client socket.
const SPARE_FDS: u64 = 100;
/// Samples kept per client and per series (reservoir sampling beyond this).
const SAMPLE_CAP: usize = 10_000;
/// How long after the window a client keeps reading (for acks and in-flight messages).
const DRAIN: Duration = Duration::from_secs(2);
/// Bound on the close handshake at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// The run always ends this long after the measurement window.
const HARD_CAP: Duration = Duration::from_secs(30);
/// How long a physics client waits for its `welcome`.
const WELCOME_WAIT: Duration = Duration::from_secs(10);
/// `CLK_TCK` (USER_HZ): the unit of utime/stime in /proc/PID/stat, 100 on Linux.
const CLK_TCK: f64 = 100.0;

/// Load generator for a running ballroom server (or any WebSocket broadcast server in relay
/// mode). Prints progress to stderr once a second and one JSON summary to stdout.
#[derive(Parser, Debug, Clone)]
#[command(name = "ballroom-load", version, after_help = EXAMPLES)]
struct Args {
    /// `physics`: protocol clients that stand by a ball and kick it, measuring
    /// kick-to-snapshot latency, snapshot jitter and gaps. `relay`: plain clients, some of
    /// them sending JSON the server relays to the room, measuring delivery and latency.
    /// `soak`: `physics` clients for the whole window among churning, slow and garbage
    /// clients, with the server's gauges and memory sampled before, during and after.
    #[arg(long, value_enum, default_value_t = LoadMode::Physics)]
    mode: LoadMode,

    /// Server address, HOST:PORT. Names are resolved first; only loopback addresses
    /// (127.0.0.0/8, ::1) are accepted unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,

    /// Allow a target that is not a loopback address.
    #[arg(long)]
    allow_remote: bool,

    /// Number of WebSocket clients (at most 20000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=MAX_CLIENTS as i64))]
    clients: u32,

    /// Number of rooms; client i joins room i mod ROOMS.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=MAX_CLIENTS as i64))]
    rooms: u32,

    /// Room names are PREFIX<i> (a leading `/` is added if missing).
    #[arg(long, default_value = "/load-")]
    room_prefix: String,

    /// Scene requested with `?scene=` (physics mode).
    #[arg(long, default_value = "kickballs")]
    scene: String,

    /// Player pose reports per second per client (physics mode; 0 = none).
    #[arg(long, default_value_t = 5.0, value_parser = rate_or_zero)]
    pose_rate: f64,

    /// Seconds between one client's kicks (physics mode); the first kick comes at a random
    /// offset so that clients do not synchronise.
    #[arg(long, default_value_t = 2.0, value_parser = positive)]
    kick_interval: f64,

    /// Smallest kick impulse, N·s (physics mode). The horizontal part of a kick aims the
    /// ball at a random point within 1 m of where it was when the client arrived, sized to
    /// get it there; the rest of the magnitude goes straight up, so the ball stays within
    /// reach of kickers who never move.
    #[arg(long, default_value_t = 5.0, value_parser = positive)]
    impulse_min: f64,

    /// Largest kick impulse, N·s (physics mode; kickballs allows 150).
    #[arg(long, default_value_t = 15.0, value_parser = positive)]
    impulse_max: f64,

    /// Clients that send messages (relay mode), spread over the rooms.
    #[arg(long, default_value_t = 1)]
    senders: u32,

    /// Messages per second per sender (relay mode).
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    msg_rate: f64,

    /// Length of the measurement window, seconds.
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    duration: f64,

    /// Seconds of connecting and running before measurements start.
    #[arg(long, default_value_t = 2.0, value_parser = rate_or_zero)]
    warmup: f64,

    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    connect_concurrency: u32,

    /// Seconds one connection attempt may take.
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    connect_timeout: f64,

    /// PID of the server process (same machine): report its CPU seconds and memory over
    /// the measurement window, from /proc.
    #[arg(long)]
    server_pid: Option<u32>,

    /// Seed for kick timing and directions (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,

    /// Churning clients (soak mode): each joins a random room (one of 2 × ROOMS, so that
    /// rooms open and close too), stays a while, leaves (one time in four by dropping the
    /// socket without a close frame) and comes back, until the window ends. Half the
    /// sessions are physics clients checked like the steady ones, half plain clients that
    /// check the echo of every message they relay.
    #[arg(long, default_value_t = 20)]
    churners: u32,

    /// Mean seconds a churning client stays in a room (soak mode).
    #[arg(long, default_value_t = 3.0, value_parser = positive)]
    churn_stay: f64,

    /// Slow clients (soak mode): each joins one of the steady rooms with a 4 KiB receive
    /// buffer and stops reading for --slow-stall seconds, then reads what is left to see
    /// whether the server closed it as too slow; then again, until the window ends.
    #[arg(long, default_value_t = 5)]
    slow: u32,

    /// Seconds a slow client stops reading (soak mode).
    #[arg(long, default_value_t = 20.0, value_parser = positive)]
    slow_stall: f64,

    /// Garbage clients (soak mode): each opens connection after connection, sending one
    /// kind of bad input per connection in turn (raw bytes instead of HTTP, a bad
    /// handshake, malformed and invalid commands, a message flood, an oversized message,
    /// invalid UTF-8), and checks the server's answer.
    #[arg(long, default_value_t = 5)]
    garbage: u32,

    /// Seconds a garbage client waits between connections (soak mode).
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    garbage_pause: f64,

    /// Seconds to wait after the run for the server's connection, room and task gauges to
    /// return to where they were before it (soak mode; cover the server's --room-linger).
    #[arg(long, default_value_t = 45.0, value_parser = rate_or_zero)]
    settle: f64,
}

const EXAMPLES: &str = "Examples:
  ballroom-load --clients 200 --rooms 20 --duration 10 --server-pid $(pidof ballroom)
  ballroom-load --mode relay --clients 100 --rooms 1 --senders 10 --msg-rate 20
  ballroom-load --mode soak --clients 100 --rooms 10 --duration 600 --server-pid $(pidof ballroom)

Physics clients stand 0.5 m from a ball's surface and kick it; the kick's latency is the time
until the first snapshot whose acks[<client id>] reaches its seq. Relay clients connect with
?echo=true and count every message of their room (sender included). Soak mode reads the
server's /metrics before, during and after the run (plain HTTP on --addr).";

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum LoadMode {
    Physics,
    Relay,
    Soak,
}

impl LoadMode {
    fn name(self) -> &'static str {
        match self {
            LoadMode::Physics => "physics",
            LoadMode::Relay => "relay",
            LoadMode::Soak => "soak",
        }
    }

    /// Whether the steady clients are physics clients.
    fn physics(self) -> bool {
        matches!(self, LoadMode::Physics | LoadMode::Soak)
    }
}

fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 1e6 {
        Ok(v)
    } else {
        Err("must be a number above 0".into())
    }
}

fn rate_or_zero(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && (0.0..=1e6).contains(&v) {
        Ok(v)
    } else {
        Err("must be a number of at least 0".into())
    }
}

fn main() {
    let args = Args::parse();
    let prepared = match prepare(&args) {
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
    let (summary, any_connected) = rt.block_on(run(args, prepared));
    rt.shutdown_timeout(Duration::from_secs(1));
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).expect("a JSON value always serializes")
    );
    if !any_connected {
        eprintln!("ballroom-load: error: no client could connect");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// Start-up checks: arguments, target address, file descriptors, server PID.

struct Prepared {
    target: SocketAddr,
    /// What goes in the URL (and so the Host header): the address as the user gave it.
    host: String,
    fd_limit: Option<u64>,
}

fn prepare(args: &Args) -> Result<Prepared, String> {
    if args.rooms > args.clients {
        return Err(format!(
            "--rooms ({}) must not exceed --clients ({})",
            args.rooms, args.clients
        ));
    }
    if args.impulse_min > args.impulse_max {
        return Err("--impulse-min must not exceed --impulse-max".into());
    }
    if args.mode == LoadMode::Relay && (args.senders == 0 || args.senders > args.clients) {
        return Err(format!(
            "--senders must be between 1 and --clients ({})",
            args.clients
        ));
    }
    if !args
        .room_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c))
    {
        return Err("--room-prefix may use only letters, digits and / - _ . ~".into());
    }
    if !args
        .scene
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err("--scene may use only letters, digits and - _ .".into());
    }

    let target = resolve_target(&args.addr, args.allow_remote)?;

    if let Some(pid) = args.server_pid {
        read_cpu_ticks(pid)
            .map_err(|e| format!("--server-pid {pid}: cannot read /proc/{pid}/stat: {e}"))?;
    }

    let fd_limit = raise_fd_limit();
    let extra = if args.mode == LoadMode::Soak {
        u64::from(args.churners) + u64::from(args.slow) + u64::from(args.garbage)
    } else {
        0
    };
    let needed = u64::from(args.clients) + extra + SPARE_FDS;
    if let Some(soft) = fd_limit
        && needed > soft
    {
        return Err(format!(
            "{} clients need about {needed} file descriptors but this process may open only \
             {soft} (RLIMIT_NOFILE) and could not raise it; run `ulimit -n 65536` in this \
             shell first, or use fewer --clients",
            args.clients
        ));
    }
    Ok(Prepared {
        target,
        host: args.addr.clone(),
        fd_limit,
    })
}

/// Resolve `addr` and refuse anything but loopback unless `allow_remote`. No connection is
/// attempted here.
fn resolve_target(addr: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let resolved: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("--addr {addr}: cannot resolve (expected HOST:PORT): {e}"))?
        .collect();
    let Some(&first) = resolved.first() else {
        return Err(format!("--addr {addr}: resolves to no address"));
    };
    if !allow_remote && let Some(bad) = resolved.iter().find(|a| !is_loopback(a.ip())) {
        return Err(format!(
            "refusing to load {addr}: it resolves to {}, which is not a loopback address \
             (127.0.0.0/8 or ::1); ballroom-load only targets loopback unless \
             --allow-remote is given",
            bad.ip()
        ));
    }
    Ok(first)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Raise the soft RLIMIT_NOFILE to the hard limit and return the soft limit now in force
/// (None where the platform has no such limit or it cannot be read).
fn raise_fd_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

// ---------------------------------------------------------------------------------------
// Shared state.

struct Ctx {
    args: Args,
    target: SocketAddr,
    host: String,
    /// The tool's clock origin; relay timestamps are microseconds since this.
    t0: Instant,
    window_start: Instant,
    window_end: Instant,
    drain_end: Instant,
    run_id: u64,
    seed: u64,
    gate: Semaphore,
    live: Live,
}

/// Live counters for the progress line.
#[derive(Default)]
struct Live {
    connected_now: AtomicU64,
    failed: AtomicU64,
    frames: AtomicU64,
    kicks_sent: AtomicU64,
    kicks_acked: AtomicU64,
    soak_sessions: AtomicU64,
    relay_sent: AtomicU64,
    relay_delivered: AtomicU64,
    hist: Histogram,
}

impl Ctx {
    fn in_window(&self, t: Instant) -> bool {
        t >= self.window_start && t < self.window_end
    }

    fn micros(&self, t: Instant) -> u64 {
        t.duration_since(self.t0).as_micros() as u64
    }
}

fn deadline(t: Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(t)
}

/// Log-spaced latency histogram (5 % buckets) for the cheap live p99.
struct Histogram {
    buckets: Vec<AtomicU64>,
}

const HIST_STEP: f64 = 1.05;
const HIST_BUCKETS: usize = 400;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..HIST_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    fn record(&self, ms: f64) {
        let us = (ms * 1000.0).max(1.0);
        let i = ((us.ln() / HIST_STEP.ln()) as usize).min(HIST_BUCKETS - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Upper bound of the bucket holding the q-quantile, in ms.
    fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(HIST_STEP.powi(i as i32 + 1) / 1000.0);
            }
        }
        None
    }
}

/// A tiny PRNG (SplitMix64); no extra crate needed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Bounded sample of a series: exact count, sum and max; up to `SAMPLE_CAP` values kept by
/// reservoir sampling for the percentiles.
#[derive(Default)]
struct Series {
    samples: Vec<f64>,
    seen: u64,
    sum: f64,
    max: f64,
}

impl Series {
    fn push(&mut self, v: f64, rng: &mut Rng) {
        self.seen += 1;
        self.sum += v;
        if v > self.max {
            self.max = v;
        }
        if self.samples.len() < SAMPLE_CAP {
            self.samples.push(v);
        } else {
            let j = rng.next_u64() % self.seen;
            if (j as usize) < SAMPLE_CAP {
                self.samples[j as usize] = v;
            }
        }
    }
}

/// Everything one client measured. Lives behind a mutex so that the summary can be made
/// even from a client task that had to be abandoned at the hard deadline.
#[derive(Default)]
struct ClientStats {
    room: usize,
    connected: bool,
    /// When the handshake completed, since the tool's start.
    connected_after: Option<Duration>,
    connect_error: Option<String>,
    welcomed: bool,
    ended_early: Option<String>,
    /// Payload bytes and frames received within the window.
    bytes: u64,
    frames: u64,
    // physics
    kicks_sent: u64,
    /// seq → (sent at, sent within the window).
    pending: HashMap<u64, (Instant, bool)>,
    kicks_acked: u64,
    kick_latency: Series,
    kick_errors: BTreeMap<String, u64>,
    other_errors: BTreeMap<String, u64>,
    snapshots: u64,
    jitter: Series,
    tick_jitter: Series,
    missed: u64,
    // relay
    relay_sent: u64,
    delivered: u64,
    foreign: u64,
    relay_latency: Series,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------
// The run.

async fn run(args: Args, prepared: Prepared) -> (Value, bool) {
    let t0 = Instant::now();
    let window_start = t0 + Duration::from_secs_f64(args.warmup);
    let window_end = window_start + Duration::from_secs_f64(args.duration);
    let drain_end = window_end + DRAIN;
    let hard_end = window_end + HARD_CAP;
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let run_id = Rng(seed ^ 0x5EED).next_u64() >> 16;
    let ctx = Arc::new(Ctx {
        target: prepared.target,
        host: prepared.host.clone(),
        t0,
        window_start,
        window_end,
        drain_end,
        run_id,
        seed,
        gate: Semaphore::new(args.connect_concurrency as usize),
        live: Live::default(),
        args,
    });
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
        LoadMode::Soak => Some(soak::Soak::start(ctx.clone()).await),
        _ => None,
    };

    let sampler = args.server_pid.map(|pid| {
        let (start, end) = (window_start, window_end);
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
        tasks.push(tokio::spawn(client(ctx.clone(), i, s.clone())));
    }
    let progress = tokio::spawn(progress(ctx.clone()));

    let mut abandoned = 0usize;
    for task in tasks.iter_mut() {
        match timeout_at(deadline(hard_end), task).await {
            Ok(_) => {}
            Err(_) => abandoned += 1,
        }
    }
    for task in &tasks {
        task.abort();
    }
    let soak = match soak {
        Some(s) => Some(s.finish(deadline(hard_end)).await),
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
    let any_connected = stats.iter().any(|s| s.connected);
    let mut summary = summarize(&ctx, &prepared, &stats, server, abandoned);
    if let Some(soak) = soak {
        summary["soak"] = soak;
    }
    (summary, any_connected)
}

/// One progress line a second on stderr.
async fn progress(ctx: Arc<Ctx>) {
    let live = &ctx.live;
    let mut last_frames = 0;
    let mut last_sent = 0;
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
        match ctx.args.mode {
            LoadMode::Physics => eprintln!(
                "{head}, kicks sent {} acked {}, kick->snapshot p99 {p99}",
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

type Ws = WebSocketStream<TcpStream>;

/// One client: connect (through the concurrency gate), run its mode's session, close.
async fn client(ctx: Arc<Ctx>, idx: usize, stats: Arc<Mutex<ClientStats>>) {
    let query = if ctx.args.mode.physics() {
        format!("scene={}", ctx.args.scene)
    } else {
        "echo=true".to_owned()
    };
    let path = room_path(&ctx, idx % ctx.args.rooms as usize, &query);
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
        physics(&ctx, &session, &mut tx, &mut rx, &stats, &mut rng).await
    } else {
        relay(&ctx, idx, &mut tx, &mut rx, &stats, &mut rng).await
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

/// Send a close frame and read until the server's, bounded by `CLOSE_WAIT`.
async fn close_politely(mut tx: Tx, mut rx: Rx) {
    let close = async {
        let _ = tx.send(Message::Close(None)).await;
        while let Some(Ok(_)) = rx.next().await {}
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, close).await;
}

/// `PREFIX<room>?query`, with a leading `/`.
fn room_path(ctx: &Ctx, room: usize, query: &str) -> String {
    let prefix = &ctx.args.room_prefix;
    let slash = if prefix.starts_with('/') { "" } else { "/" };
    format!("{slash}{prefix}{room}?{query}")
}

async fn connect(ctx: &Ctx, path: &str) -> Result<Ws, String> {
    connect_with(ctx, path, None).await
}

/// Connect through the concurrency gate, optionally with a small socket receive buffer
/// (set before connecting, so that the window the server sees is small from the start).
async fn connect_with(ctx: &Ctx, path: &str, recv_buffer: Option<u32>) -> Result<Ws, String> {
    let _permit = tokio::select! {
        p = ctx.gate.acquire() => p.map_err(|e| e.to_string())?,
        _ = sleep_until(deadline(ctx.window_end)) => {
            return Err("not started before the end of the window".into());
        }
    };
    let limit =
        (Instant::now() + Duration::from_secs_f64(ctx.args.connect_timeout)).min(ctx.window_end);
    let attempt = async {
        let socket = if ctx.target.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| format!("socket: {e}"))?;
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .map_err(|e| format!("SO_RCVBUF: {e}"))?;
        }
        let stream = socket
            .connect(ctx.target)
            .await
            .map_err(|e| format!("tcp connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let url = format!("ws://{}{path}", ctx.host);
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| format!("websocket handshake: {e}"))?;
        Ok(ws)
    };
    timeout_at(deadline(limit), attempt)
        .await
        .unwrap_or_else(|_| Err("connect timed out".into()))
}

enum Ended {
    /// The session ran to the end; close the socket.
    Done,
    /// The connection ended on its own (or failed).
    Early(String),
}

type Tx = futures_util::stream::SplitSink<Ws, Message>;
type Rx = futures_util::stream::SplitStream<Ws>;

/// Count one received frame (live, and within the window per client).
/// One frame off the socket, accounted for; or why the connection ended.
fn received(
    ctx: &Ctx,
    stats: &Mutex<ClientStats>,
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    now: Instant,
) -> Result<Message, Ended> {
    let msg = match frame {
        None => return Err(Ended::Early("connection ended".into())),
        Some(Err(e)) => return Err(Ended::Early(format!("read error: {e}"))),
        Some(Ok(m)) => m,
    };
    account(ctx, stats, &msg, now);
    match close_reason(&msg) {
        Some(reason) => Err(Ended::Early(reason)),
        None => Ok(msg),
    }
}

fn account(ctx: &Ctx, stats: &Mutex<ClientStats>, msg: &Message, now: Instant) {
    ctx.live.frames.fetch_add(1, Ordering::Relaxed);
    if ctx.in_window(now) {
        let mut s = lock(stats);
        s.bytes += msg.len() as u64;
        s.frames += 1;
    }
}

/// Send one text frame, giving up at the end of the drain (a server that stops reading
/// must not hold the run).
async fn send(ctx: &Ctx, tx: &mut Tx, text: String) -> Result<(), String> {
    match timeout_at(deadline(ctx.drain_end), tx.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err("send blocked until the end of the run".into()),
    }
}

fn close_reason(msg: &Message) -> Option<String> {
    match msg {
        Message::Close(Some(f)) => Some(format!("closed by server: {} {}", f.code, f.reason)),
        Message::Close(None) => Some("closed by server".into()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Physics mode.

/// The parts of server messages this tool reads; everything else is ignored.
#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: Option<String>,
    client: Option<u64>,
    tick: Option<u64>,
    tick_rate: Option<f64>,
    snapshot_rate: Option<f64>,
    balls: Option<Vec<BallLite>>,
    acks: Option<HashMap<String, u64>>,
    scene: Option<Value>,
    code: Option<String>,
    seq: Option<u64>,
}

#[derive(Deserialize)]
struct BallLite {
    id: u64,
    #[serde(default)]
    p: Option<[f64; 3]>,
    #[serde(default)]
    sleeping: bool,
}

/// A ball of the scene as described in `welcome.scene.balls`.
struct Home {
    id: u64,
    position: [f64; 3],
    radius: f64,
    /// Impulse (N·s) per metre the ball should slide: mass × linear damping.
    per_metre: f64,
}

fn scene_balls(scene: &Value) -> Vec<Home> {
    scene["balls"]
        .as_array()
        .map(|balls| {
            balls
                .iter()
                .filter_map(|b| {
                    let id = b["id"].as_u64()?;
                    let p = b["position"].as_array()?;
                    let position = [
                        p.first()?.as_f64()?,
                        p.get(1)?.as_f64()?,
                        p.get(2)?.as_f64()?,
                    ];
                    let radius = b["radius"].as_f64().unwrap_or(1.0);
                    let mass = b["mass"].as_f64().unwrap_or(5.0);
                    let damping = b["linear_damping"].as_f64().unwrap_or(0.4);
                    Some(Home {
                        id,
                        position,
                        radius,
                        per_metre: (mass * damping).max(0.1),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One physics client's stay: which ball it kicks, and when it stops.
struct Session {
    /// Picks the ball (`local` mod the number of balls) and the side to stand on.
    local: usize,
    /// No new kicks or poses from here on.
    stop: Instant,
    /// Waiting for acks of kicks in flight ends here.
    drain: Instant,
}

async fn physics(
    ctx: &Ctx,
    session: &Session,
    tx: &mut Tx,
    rx: &mut Rx,
    stats: &Mutex<ClientStats>,
    rng: &mut Rng,
) -> Ended {
    // 1. The welcome: our id, the rates, the balls.
    let welcome_by = deadline((Instant::now() + WELCOME_WAIT).min(session.drain));
    let mut refused = None;
    let welcome = loop {
        let msg = match timeout_at(welcome_by, rx.next()).await {
            Err(_) => return Ended::Early("no welcome in time".into()),
            Ok(None) => return Ended::Early("connection ended before welcome".into()),
            Ok(Some(Err(e))) => return Ended::Early(format!("read error before welcome: {e}")),
            Ok(Some(Ok(m))) => m,
        };
        account(ctx, stats, &msg, Instant::now());
        if let Some(reason) = close_reason(&msg) {
            let code = refused.map_or(String::new(), |c| format!(" (error {c})"));
            return Ended::Early(format!("join refused{code}: {reason}"));
        }
        let Message::Text(text) = &msg else { continue };
        let Ok(m) = serde_json::from_str::<Incoming>(text) else {
            continue;
        };
        match m.kind.as_deref() {
            Some("welcome") => break m,
            Some("error") => refused = m.code,
            _ => {}
        }
    };
    let Some(my_id) = welcome.client else {
        return Ended::Early("welcome without a client id".into());
    };
    lock(stats).welcomed = true;
    let my_key = my_id.to_string();
    let tick_rate = welcome.tick_rate.unwrap_or(60.0);
    let snapshot_rate = welcome.snapshot_rate.unwrap_or(20.0);
    let interval_ticks = (tick_rate / snapshot_rate).round().max(1.0);
    let expected_gap = 1.0 / snapshot_rate;
    let homes = welcome.scene.as_ref().map(scene_balls).unwrap_or_default();

    // 2. Which ball: (k mod n) for the k-th client of the room. Where to stand is decided
    // on the first snapshot, from where that ball is then (a lingering room keeps the
    // balls where its last clients left them).
    let local = session.local;
    let mine = (!homes.is_empty()).then(|| &homes[local % homes.len()]);
    let mut anchor: Option<[f64; 3]> = None;
    let mut pose: Option<String> = None;
    let mut ball_at = [0.0; 3];

    let pose_period =
        (ctx.args.pose_rate > 0.0).then(|| Duration::from_secs_f64(1.0 / ctx.args.pose_rate));
    let kick_period = Duration::from_secs_f64(ctx.args.kick_interval);
    let mut next_pose = Instant::now();
    let mut next_kick = Instant::now();
    let mut seq = 0u64;
    let mut sending = true;
    let mut prev: Option<(Instant, u64, bool)> = None;

    loop {
        if !sending && lock(stats).pending.is_empty() {
            return Ended::Done;
        }
        tokio::select! {
            frame = rx.next() => {
                let now = Instant::now();
                let msg = match received(ctx, stats, frame, now) {
                    Ok(msg) => msg,
                    Err(ended) => return ended,
                };
                let Message::Text(text) = &msg else { continue };
                let Ok(m) = serde_json::from_str::<Incoming>(text) else { continue };
                match m.kind.as_deref() {
                    Some("snapshot") => {
                        let balls = m.balls.unwrap_or_default();
                        let tick = m.tick.unwrap_or(0);
                        let asleep = balls.iter().all(|b| b.sleeping);
                        if let Some(h) = mine
                            && let Some(p) = balls.iter().find(|b| b.id == h.id).and_then(|b| b.p)
                        {
                            ball_at = p;
                            if anchor.is_none() {
                                anchor = Some(p);
                                pose = Some(pose_text(h, p, local / homes.len()));
                                next_pose = now;
                                next_kick = now + kick_period.mul_f64(rng.unit());
                            }
                        }
                        let mut s = lock(stats);
                        if let Some(&ack) = m.acks.as_ref().and_then(|a| a.get(&my_key)) {
                            let done: Vec<u64> =
                                s.pending.keys().copied().filter(|&q| q <= ack).collect();
                            for q in done {
                                let (sent, counted) = s.pending.remove(&q).expect("listed");
                                if counted {
                                    let ms = now.duration_since(sent).as_secs_f64() * 1000.0;
                                    s.kick_latency.push(ms, rng);
                                    s.kicks_acked += 1;
                                    ctx.live.kicks_acked.fetch_add(1, Ordering::Relaxed);
                                    ctx.live.hist.record(ms);
                                }
                            }
                        }
                        match prev {
                            Some((_, last_tick, _)) if tick <= last_tick => {}
                            _ => {
                                if ctx.in_window(now) {
                                    s.snapshots += 1;
                                    if let Some((at, last_tick, was_asleep)) = prev {
                                        let dt = now.duration_since(at).as_secs_f64();
                                        let d = (tick - last_tick) as f64;
                                        s.tick_jitter.push((dt - d / tick_rate).abs() * 1000.0, rng);
                                        if !was_asleep {
                                            s.jitter.push((dt - expected_gap).abs() * 1000.0, rng);
                                            s.missed += ((d / interval_ticks).ceil() - 1.0).max(0.0) as u64;
                                        }
                                    }
                                }
                                prev = Some((now, tick, asleep));
                            }
                        }
                    }
                    Some("error") => {
                        let code = m.code.unwrap_or_else(|| "?".into());
                        let mut s = lock(stats);
                        match m.seq.and_then(|q| s.pending.remove(&q)) {
                            Some((_, true)) => *s.kick_errors.entry(code).or_default() += 1,
                            Some((_, false)) => {}
                            None if ctx.in_window(now) => {
                                *s.other_errors.entry(code).or_default() += 1;
                            }
                            None => {}
                        }
                    }
                    _ => {}
                }
            }
            _ = sleep_until(deadline(next_pose)), if sending && pose.is_some() && pose_period.is_some() => {
                let period = pose_period.expect("checked");
                next_pose = (next_pose + period).max(Instant::now());
                if let Some(p) = &pose
                    && let Err(e) = send(ctx, tx, p.clone()).await
                {
                    return Ended::Early(e);
                }
            }
            _ = sleep_until(deadline(next_kick)), if sending && anchor.is_some() => {
                let now = Instant::now();
                next_kick += kick_period;
                if next_kick < now {
                    next_kick = now + kick_period;
                }
                let (h, home) = (mine.expect("set with anchor"), anchor.expect("checked"));
                let text = kick_text(h, home, ball_at, seq + 1, ctx, rng);
                seq += 1;
                let counted = ctx.in_window(now);
                {
                    let mut s = lock(stats);
                    s.pending.insert(seq, (now, counted));
                    if counted {
                        s.kicks_sent += 1;
                        ctx.live.kicks_sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Err(e) = send(ctx, tx, text).await {
                    return Ended::Early(e);
                }
            }
            _ = sleep_until(deadline(session.stop)), if sending => sending = false,
            _ = sleep_until(deadline(session.drain)) => return Ended::Done,
        }
    }
}

/// Stand still next to ball `h`, which is at `at` now: feet on the ground, 0.5 m from the
/// ball's surface along z. Kickers of one ball alternate sides (`nth`), except that one
/// whose ball has wandered more than 2 m from its spawn point stands on the spawn side,
/// away from the walls.
fn pose_text(h: &Home, at: [f64; 3], nth: usize) -> String {
    let towards_spawn = h.position[2] - at[2];
    let side = if towards_spawn.abs() > 2.0 {
        towards_spawn.signum()
    } else if nth.is_multiple_of(2) {
        1.0
    } else {
        -1.0
    };
    let (x, y, z) = (
        at[0],
        (at[1] - h.radius).max(0.0),
        at[2] + side * (h.radius + 0.5),
    );
    format!(r#"{{"type":"player","position":[{x:.3},{y:.3},{z:.3}]}}"#)
}

/// A kick of random magnitude in [impulse-min, impulse-max] that keeps the ball within
/// reach of kickers who never move. Its horizontal part aims at a random point within 1 m of
/// `home` (where the ball was when this client arrived; so the direction is random while the
/// ball is there) and is sized to roughly get it there: a ball slides about
/// impulse / (mass × linear damping) metres. Whatever the horizontal part does not use goes
/// straight up, so every kick still has the chosen magnitude.
fn kick_text(h: &Home, home: [f64; 3], at: [f64; 3], seq: u64, ctx: &Ctx, rng: &mut Rng) -> String {
    let (min, max) = (ctx.args.impulse_min, ctx.args.impulse_max);
    let magnitude = min + (max - min) * rng.unit();
    let (r, a) = (rng.unit().sqrt(), rng.unit() * std::f64::consts::TAU);
    let target = [home[0] + r * a.cos(), home[2] + r * a.sin()];
    let (dx, dz) = (target[0] - at[0], target[1] - at[2]);
    let distance = (dx * dx + dz * dz).sqrt().max(1e-6);
    let horizontal = (h.per_metre * distance).min(magnitude);
    let up = (magnitude * magnitude - horizontal * horizontal)
        .max(0.0)
        .sqrt();
    let (ix, iz) = (horizontal * dx / distance, horizontal * dz / distance);
    format!(
        r#"{{"type":"kick","ball":{},"impulse":[{ix:.3},{up:.3},{iz:.3}],"seq":{seq}}}"#,
        h.id
    )
}

// ---------------------------------------------------------------------------------------
// Relay mode.

/// The tool's own relay message; anything that does not parse as one is ignored.
#[derive(Deserialize)]
struct LoadMsg {
    load: u64,
    run: u64,
    room: u64,
    t: u64,
}

async fn relay(
    ctx: &Ctx,
    idx: usize,
    tx: &mut Tx,
    rx: &mut Rx,
    stats: &Mutex<ClientStats>,
    rng: &mut Rng,
) -> Ended {
    let room = (idx % ctx.args.rooms as usize) as u64;
    // Clients 0..senders are the senders: consecutive indices fall in consecutive rooms.
    let sender = idx < ctx.args.senders as usize;
    let period = Duration::from_secs_f64(1.0 / ctx.args.msg_rate);
    let mut next_send = Instant::now() + period.mul_f64(rng.unit());
    let mut n = 0u64;
    let mut sending = true;
    let (from_us, to_us) = (ctx.micros(ctx.window_start), ctx.micros(ctx.window_end));
    loop {
        tokio::select! {
            frame = rx.next() => {
                let now = Instant::now();
                let msg = match received(ctx, stats, frame, now) {
                    Ok(msg) => msg,
                    Err(ended) => return ended,
                };
                // Text as relayed by ballroom; binary too, for servers that turn text into it.
                let bytes: &[u8] = match &msg {
                    Message::Text(t) => t.as_bytes(),
                    Message::Binary(b) => b,
                    _ => continue,
                };
                if !bytes.starts_with(b"{\"load\":") {
                    continue;
                }
                let Ok(m) = serde_json::from_slice::<LoadMsg>(bytes) else { continue };
                if m.load != 1 || m.run != ctx.run_id || m.t < from_us || m.t >= to_us {
                    continue;
                }
                let mut s = lock(stats);
                if m.room != room {
                    s.foreign += 1;
                    continue;
                }
                let ms = ctx.micros(now).saturating_sub(m.t) as f64 / 1000.0;
                s.delivered += 1;
                s.relay_latency.push(ms, rng);
                ctx.live.relay_delivered.fetch_add(1, Ordering::Relaxed);
                ctx.live.hist.record(ms);
            }
            _ = sleep_until(deadline(next_send)), if sending && sender => {
                let now = Instant::now();
                next_send = (next_send + period).max(now);
                n += 1;
                let t = ctx.micros(now);
                let counted = t >= from_us && t < to_us;
                let text = format!(
                    r#"{{"load":1,"run":{},"room":{room},"from":{idx},"n":{n},"t":{t}}}"#,
                    ctx.run_id
                );
                if counted {
                    lock(stats).relay_sent += 1;
                    ctx.live.relay_sent.fetch_add(1, Ordering::Relaxed);
                }
                if let Err(e) = send(ctx, tx, text).await {
                    return Ended::Early(e);
                }
            }
            _ = sleep_until(deadline(ctx.window_end)), if sending => sending = false,
            _ = sleep_until(deadline(ctx.drain_end)) => return Ended::Done,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The server process, from /proc.

#[derive(Default)]
struct ServerFigures {
    cpu_seconds: Option<f64>,
    peak_rss_kib: Option<u64>,
    vm_hwm_kib: Option<u64>,
    rss_samples: u64,
    error: Option<String>,
}

impl ServerFigures {
    fn failed(e: &str) -> Self {
        ServerFigures {
            error: Some(e.to_owned()),
            ..Default::default()
        }
    }
}

/// utime + stime of `pid`, in clock ticks.
fn read_cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // The command name is in parentheses and may contain spaces: fields restart after ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("unexpected /proc/PID/stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let num = |i: usize| -> Result<u64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| "unexpected /proc/PID/stat format".to_owned())
    };
    Ok(num(11)? + num(12)?)
}

/// A `Vm…:  1234 kB` line of /proc/PID/status, in KiB.
fn read_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU over [start, end), VmRSS every 100 ms in between, VmHWM at the end.
fn sample_server(pid: u32, start: Instant, end: Instant) -> ServerFigures {
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let cpu0 = match read_cpu_ticks(pid) {
        Ok(t) => t,
        Err(e) => return ServerFigures::failed(&format!("server process: {e}")),
    };
    let mut fig = ServerFigures::default();
    let mut next = Instant::now();
    while next < end {
        if let Some(rss) = read_status_kib(pid, "VmRSS:") {
            fig.rss_samples += 1;
            fig.peak_rss_kib = Some(fig.peak_rss_kib.unwrap_or(0).max(rss));
        }
        next += Duration::from_millis(100);
        std::thread::sleep(next.min(end).saturating_duration_since(Instant::now()));
    }
    match read_cpu_ticks(pid) {
        Ok(cpu1) => fig.cpu_seconds = Some(cpu1.saturating_sub(cpu0) as f64 / CLK_TCK),
        Err(e) => fig.error = Some(format!("server process at the end of the window: {e}")),
    }
    fig.vm_hwm_kib = read_status_kib(pid, "VmHWM:");
    fig
}

// ---------------------------------------------------------------------------------------
// The summary.

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// count, p50, p99, max and mean of merged series; percentiles by sorting the samples.
fn describe<'a>(series: impl Iterator<Item = &'a Series>) -> Value {
    let mut samples = Vec::new();
    let (mut count, mut sum, mut max) = (0u64, 0.0, 0.0f64);
    for s in series {
        samples.extend_from_slice(&s.samples);
        count += s.seen;
        sum += s.sum;
        max = max.max(s.max);
    }
    if count == 0 {
        return json!({"count": 0, "p50": null, "p99": null, "max": null, "mean": null});
    }
    samples.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        round3(samples[rank - 1])
    };
    json!({
        "count": count,
        "p50": pct(0.50),
        "p99": pct(0.99),
        "max": round3(max),
        "mean": round3(sum / count as f64),
    })
}

fn tally(items: impl Iterator<Item = String>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for i in items {
        *out.entry(i).or_default() += 1;
    }
    out
}

fn merge_counts<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, u64>>,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for m in maps {
        for (k, v) in m {
            *out.entry(k.clone()).or_default() += v;
        }
    }
    out
}

fn summarize(
    ctx: &Ctx,
    prepared: &Prepared,
    stats: &[ClientStats],
    server: Option<ServerFigures>,
    abandoned: usize,
) -> Value {
    let a = &ctx.args;
    let physics = a.mode.physics();
    let window = a.duration;
    let connected: Vec<&ClientStats> = stats.iter().filter(|s| s.connected).collect();

    let rates: Vec<f64> = connected.iter().map(|s| s.bytes as f64 / window).collect();
    let bytes = if rates.is_empty() {
        json!({"mean": null, "max": null})
    } else {
        json!({
            "mean": round3(rates.iter().sum::<f64>() / rates.len() as f64),
            "max": round3(rates.iter().copied().fold(0.0, f64::max)),
        })
    };

    let kicks = physics.then(|| {
        let sent: u64 = stats.iter().map(|s| s.kicks_sent).sum();
        let acked: u64 = stats.iter().map(|s| s.kicks_acked).sum();
        let unacked: u64 = stats
            .iter()
            .map(|s| s.pending.values().filter(|(_, counted)| *counted).count() as u64)
            .sum();
        json!({
            "sent": sent,
            "acked": acked,
            "unacked": unacked,
            "errors": merge_counts(stats.iter().map(|s| &s.kick_errors)),
            "latency_ms": describe(stats.iter().map(|s| &s.kick_latency)),
        })
    });
    let snapshots = physics.then(|| {
        json!({
            "received": stats.iter().map(|s| s.snapshots).sum::<u64>(),
            "jitter_ms": describe(stats.iter().map(|s| &s.jitter)),
            "tick_jitter_ms": describe(stats.iter().map(|s| &s.tick_jitter)),
            "missed": stats.iter().map(|s| s.missed).sum::<u64>(),
            "clients_with_gaps": stats.iter().filter(|s| s.missed > 0).count(),
        })
    });

    let mut delivered_total = None;
    let relay = (!physics).then(|| {
        let mut room_size = vec![0u64; a.rooms as usize];
        for s in &connected {
            room_size[s.room] += 1;
        }
        let sent: u64 = stats.iter().map(|s| s.relay_sent).sum();
        let expected: u64 = stats.iter().map(|s| s.relay_sent * room_size[s.room]).sum();
        let delivered: u64 = stats.iter().map(|s| s.delivered).sum();
        delivered_total = Some(delivered);
        json!({
            "senders": a.senders,
            "sent": sent,
            "expected": expected,
            "delivered": delivered,
            "delivery_ratio": (expected > 0).then(|| delivered as f64 / expected as f64),
            "foreign_room_deliveries": stats.iter().map(|s| s.foreign).sum::<u64>(),
            "latency_ms": describe(stats.iter().map(|s| &s.relay_latency)),
        })
    });

    let server = server.map(|f| {
        let per_100k = match (f.cpu_seconds, delivered_total) {
            (Some(cpu), Some(d)) if d > 0 => Some(round3(cpu * 100_000.0 / d as f64)),
            _ => None,
        };
        json!({
            "pid": a.server_pid,
            "cpu_seconds": f.cpu_seconds,
            "cpu_seconds_per_100k_delivered": per_100k,
            "peak_rss_kib": f.peak_rss_kib,
            "vm_hwm_kib": f.vm_hwm_kib,
            "rss_samples": f.rss_samples,
            "clk_tck_assumed": CLK_TCK,
            "error": f.error,
        })
    });

    json!({
        "tool": "ballroom-load",
        "mode": a.mode.name(),
        "params": {
            "addr": a.addr,
            "target": prepared.target.to_string(),
            "allow_remote": a.allow_remote,
            "clients": a.clients,
            "rooms": a.rooms,
            "room_prefix": a.room_prefix,
            "scene": physics.then_some(&a.scene),
            "pose_rate": physics.then_some(a.pose_rate),
            "kick_interval": physics.then_some(a.kick_interval),
            "impulse_min": physics.then_some(a.impulse_min),
            "impulse_max": physics.then_some(a.impulse_max),
            "senders": (!physics).then_some(a.senders),
            "msg_rate": (!physics).then_some(a.msg_rate),
            "duration": a.duration,
            "warmup": a.warmup,
            "connect_concurrency": a.connect_concurrency,
            "connect_timeout": a.connect_timeout,
            "server_pid": a.server_pid,
            "churners": (a.mode == LoadMode::Soak).then_some(a.churners),
            "churn_stay": (a.mode == LoadMode::Soak).then_some(a.churn_stay),
            "slow": (a.mode == LoadMode::Soak).then_some(a.slow),
            "slow_stall": (a.mode == LoadMode::Soak).then_some(a.slow_stall),
            "garbage": (a.mode == LoadMode::Soak).then_some(a.garbage),
            "garbage_pause": (a.mode == LoadMode::Soak).then_some(a.garbage_pause),
            "settle": (a.mode == LoadMode::Soak).then_some(a.settle),
            "seed": ctx.seed,
            "fd_limit": prepared.fd_limit,
        },
        "connections": {
            "attempted": stats.len(),
            "connected": connected.len(),
            "failed": stats.len() - connected.len(),
            "failures": tally(stats.iter().filter_map(|s| s.connect_error.clone())),
            "welcomed": physics.then(|| stats.iter().filter(|s| s.welcomed).count()),
            "ended_early": stats.iter().filter(|s| s.ended_early.is_some()).count(),
            "ended_early_reasons": tally(stats.iter().filter_map(|s| s.ended_early.clone())),
            "ramp_ms": connected.iter().filter_map(|s| s.connected_after)
                .max().map(|d| round3(d.as_secs_f64() * 1000.0)),
            "abandoned_at_hard_deadline": abandoned,
        },
        "frames_received": stats.iter().map(|s| s.frames).sum::<u64>(),
        "bytes_per_client_per_s": bytes,
        "kicks": kicks,
        "other_errors": physics.then(|| merge_counts(stats.iter().map(|s| &s.other_errors))),
        "snapshots": snapshots,
        "relay": relay,
        "server": server,
    })
}
