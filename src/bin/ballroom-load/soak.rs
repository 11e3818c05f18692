//! Soak mode: the steady physics clients of [`super::physics`] stay for the whole window
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
//!   ([`Junk`]), and check that the server answers it as documented.
//!
//! The server is watched from outside: its `/metrics` gauges (connections, rooms, tokio
//! tasks) are read before the first client connects, through the run, and after the last
//! one leaves until they are back where they started (at most `--settle` seconds); with
//! `--server-pid`, its RSS is read alongside.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;

use super::{
    ClientStats, Ctx, DRAIN, Ended, Rng, Rx, Session, Tx, close_politely, close_reason, connect,
    connect_with, deadline, describe, lock, merge_counts, physics, read_status_kib, received,
    room_path, round3,
};

/// Receive buffer of a slow client's socket, so that it fills within seconds.
const SLOW_RECV_BUFFER: u32 = 4096;
/// A slow client's outcome when its connection ended without a close frame.
const SLOW_CUT_OFF: &str = "cut off without a close frame";
/// How long a slow client reads after its stall.
const SLOW_READ: Duration = Duration::from_secs(2);
/// Bound on waiting for the server's answer to one piece of garbage.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// Bound on waiting for the server to drop a half-sent request (its header timeout is
/// 10 s).
const SLOWLORIS_WAIT: Duration = Duration::from_secs(15);
/// Gap between two relayed messages of a plain churner.
const PLAIN_PERIOD: Duration = Duration::from_millis(500);
/// A relayed message's padding, so that reliable traffic has some weight.
const PAD: usize = 400;
/// Entries in the timeline of server gauges over the window.
const TIMELINE_POINTS: f64 = 20.0;

/// The running soak populations and the server watcher.
pub(super) struct Soak {
    ctx: Arc<Ctx>,
    shared: Arc<Shared>,
    before: Gauges,
    tasks: Vec<JoinHandle<()>>,
    watcher: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    churn: Mutex<Churn>,
    slow: Mutex<Slow>,
    garbage: Mutex<Garbage>,
    timeline: Mutex<Vec<Value>>,
}

#[derive(Default)]
struct Churn {
    /// Every physics session's measurements (snapshot gaps, kicks).
    physics: Vec<ClientStats>,
    plain_sessions: u64,
    connect_failures: BTreeMap<String, u64>,
    left_with_close: u64,
    left_by_dropping: u64,
    /// Sessions that ended before their stay was over, by reason.
    ended_early: BTreeMap<String, u64>,
    relay_sent: u64,
    relay_echoed: u64,
}

#[derive(Default)]
struct Slow {
    sessions: u64,
    connect_failures: BTreeMap<String, u64>,
    outcomes: BTreeMap<String, u64>,
    frames_read_after_stall: u64,
}

#[derive(Default)]
struct Garbage {
    /// kind → answer → count, for answers as documented.
    answered: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// kind → what happened instead → count.
    unexpected: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Error codes the server sent to garbage clients.
    error_codes: BTreeMap<String, u64>,
}

impl Shared {
    fn garbage_outcome(&self, junk: Junk, result: Result<String, String>) {
        let mut g = lock(&self.garbage);
        let (map, what) = match result {
            Ok(answer) => (&mut g.answered, answer),
            Err(other) => (&mut g.unexpected, other),
        };
        *map.entry(junk.name()).or_default().entry(what).or_default() += 1;
    }

    fn garbage_error(&self, code: String) {
        *lock(&self.garbage).error_codes.entry(code).or_default() += 1;
    }
}

impl Soak {
    /// Read the server's gauges, then start every population (they wait for the window).
    pub(super) async fn start(ctx: Arc<Ctx>) -> Soak {
        let before = Gauges::read(&ctx).await;
        let shared = Arc::new(Shared::default());
        let a = &ctx.args;
        let mut tasks = Vec::new();
        for n in 0..a.churners as usize {
            tasks.push(tokio::spawn(churner(ctx.clone(), shared.clone(), n)));
        }
        for n in 0..a.slow as usize {
            tasks.push(tokio::spawn(slow_client(ctx.clone(), shared.clone(), n)));
        }
        for n in 0..a.garbage as usize {
            tasks.push(tokio::spawn(garbage_client(ctx.clone(), shared.clone(), n)));
        }
        let watcher = tokio::spawn(watch(ctx.clone(), shared.clone()));
        Soak {
            ctx,
            shared,
            before,
            tasks,
            watcher,
        }
    }

    /// Wait for the populations (abandoning any still running at `hard_end`), then for the
    /// server's gauges to return to where they started; summarize.
    pub(super) async fn finish(self, hard_end: tokio::time::Instant) -> Value {
        let mut abandoned = 0;
        for task in self.tasks {
            let abort = task.abort_handle();
            if timeout_at(hard_end, task).await.is_err() {
                abort.abort();
                abandoned += 1;
            }
        }
        self.watcher.abort();
        let ctx = &self.ctx;
        let settle_by = Instant::now() + Duration::from_secs_f64(ctx.args.settle);
        let settle_start = Instant::now();
        let after = loop {
            let now = Gauges::read(ctx).await;
            if now.settled(&self.before) || Instant::now() >= settle_by {
                break now;
            }
            sleep(Duration::from_millis(500)).await;
        };
        let settled = after.settled(&self.before);
        summarize(
            &self.shared,
            &self.before,
            &after,
            settled.then(|| settle_start.elapsed()),
            abandoned,
        )
    }
}

// ---------------------------------------------------------------------------------------
// The server, seen from outside.

/// The server's `/metrics` gauges and RSS at one moment (None: could not be read).
#[derive(Default)]
struct Gauges {
    /// `ballroom_disconnects_total{reason="too_slow"}` (a counter, 0 until the first).
    too_slow: f64,
    connections: Option<f64>,
    rooms: Option<f64>,
    tasks: Option<f64>,
    rss_kib: Option<u64>,
    error: Option<String>,
}

impl Gauges {
    async fn read(ctx: &Ctx) -> Gauges {
        let rss_kib = ctx
            .args
            .server_pid
            .and_then(|pid| read_status_kib(pid, "VmRSS:"));
        match scrape_metrics(ctx).await {
            Ok(body) => Gauges {
                too_slow: metric(&body, r#"ballroom_disconnects_total{reason="too_slow"}"#)
                    .unwrap_or(0.0),
                connections: metric(&body, "ballroom_connections"),
                rooms: metric(&body, "ballroom_rooms"),
                tasks: metric(&body, "ballroom_tokio_tasks"),
                rss_kib,
                error: None,
            },
            Err(e) => Gauges {
                rss_kib,
                error: Some(e),
                ..Default::default()
            },
        }
    }

    /// Connections, rooms and tasks at most what they were `before` (a gauge that was
    /// unreadable either time counts as settled only if it is unreadable both times).
    fn settled(&self, before: &Gauges) -> bool {
        let back = |now: Option<f64>, then: Option<f64>| match (now, then) {
            (Some(n), Some(t)) => n <= t,
            (None, None) => true,
            _ => false,
        };
        self.error.is_none()
            && back(self.connections, before.connections)
            && back(self.rooms, before.rooms)
            && back(self.tasks, before.tasks)
    }

    fn to_json(&self) -> Value {
        json!({
            "connections": self.connections,
            "rooms": self.rooms,
            "tokio_tasks": self.tasks,
            "rss_kib": self.rss_kib,
            "too_slow_disconnects": self.too_slow,
            "error": self.error,
        })
    }
}

/// `GET /metrics` over HTTP/1.0 (so the body is not chunked), bounded.
async fn scrape_metrics(ctx: &Ctx) -> Result<String, String> {
    let io = async {
        let mut s = TcpStream::connect(ctx.target)
            .await
            .map_err(|e| e.to_string())?;
        let req = format!("GET /metrics HTTP/1.0\r\nHost: {}\r\n\r\n", ctx.host);
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(buf)
    };
    let buf = timeout(ANSWER_WAIT, io)
        .await
        .map_err(|_| "GET /metrics timed out".to_owned())??;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("GET /metrics: no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        let status = head.lines().next().unwrap_or_default();
        return Err(format!("GET /metrics: {status}"));
    }
    Ok(body.to_owned())
}

/// The value of one series (`name` with its labels, if any) in a Prometheus text exposition.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Gauges every window / 20 (at least every second) from the start of the window.
async fn watch(ctx: Arc<Ctx>, shared: Arc<Shared>) {
    let period = Duration::from_secs_f64((ctx.args.duration / TIMELINE_POINTS).max(1.0));
    let mut next = ctx.window_start;
    loop {
        sleep_until(deadline(next)).await;
        let g = Gauges::read(&ctx).await;
        let mut point = g.to_json();
        point["t"] = json!(round3(next.duration_since(ctx.t0).as_secs_f64()));
        lock(&shared.timeline).push(point);
        next += period;
    }
}

// ---------------------------------------------------------------------------------------
// Churners.

async fn churner(ctx: Arc<Ctx>, shared: Arc<Shared>, n: usize) {
    let mut rng = Rng(ctx.seed ^ 0xC0FF_EE00 ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9));
    // Spread the first joins over the first second of the window.
    sleep_until(deadline(
        ctx.window_start + Duration::from_secs_f64(rng.unit()),
    ))
    .await;
    let rooms = ctx.args.rooms as u64 * 2;
    let mut k = 0u64;
    while Instant::now() < ctx.window_end {
        k += 1;
        let room = (rng.next_u64() % rooms) as usize;
        let stay = ctx.args.churn_stay * (0.1 + 1.8 * rng.unit());
        let stop = (Instant::now() + Duration::from_secs_f64(stay)).min(ctx.window_end);
        let physical = rng.unit() < 0.5;
        let query = if physical {
            format!("scene={}", ctx.args.scene)
        } else {
            "echo=true".to_owned()
        };
        ctx.live
            .soak_sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ws = match connect(&ctx, &room_path(&ctx, room, &query)).await {
            Ok(ws) => ws,
            Err(e) => {
                *lock(&shared.churn).connect_failures.entry(e).or_default() += 1;
                sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let (mut tx, mut rx) = ws.split();
        let ended = if physical {
            let stats = Mutex::new(ClientStats::default());
            let session = Session {
                local: (rng.next_u64() % 64) as usize,
                stop,
                drain: stop + DRAIN,
            };
            let ended = physics(&ctx, &session, &mut tx, &mut rx, &stats, &mut rng).await;
            let mut stats = stats.into_inner().unwrap_or_else(|e| e.into_inner());
            stats.connected = true;
            if let Ended::Early(reason) = &ended {
                stats.ended_early = Some(reason.clone());
            }
            lock(&shared.churn).physics.push(stats);
            ended
        } else {
            let ended = plain(&ctx, &shared, (n, k), stop, &mut tx, &mut rx).await;
            lock(&shared.churn).plain_sessions += 1;
            ended
        };
        match ended {
            Ended::Done if rng.unit() < 0.25 => {
                drop((tx, rx));
                lock(&shared.churn).left_by_dropping += 1;
            }
            Ended::Done => {
                close_politely(tx, rx).await;
                lock(&shared.churn).left_with_close += 1;
            }
            Ended::Early(reason) => {
                *lock(&shared.churn).ended_early.entry(reason).or_default() += 1;
            }
        }
        sleep(Duration::from_secs_f64(0.5 * rng.unit())).await;
    }
}

/// A plain client's stay: relay a padded message every `PLAIN_PERIOD` until `stop` and
/// count the echoes of its own messages (a relayed message is reliable: none may be lost).
async fn plain(
    ctx: &Ctx,
    shared: &Shared,
    (n, k): (usize, u64),
    stop: Instant,
    tx: &mut Tx,
    rx: &mut Rx,
) -> Ended {
    let me = format!("{n}.{k}");
    let marker = format!(r#"{{"soak":{},"from":"{me}","#, ctx.run_id);
    let pad = "x".repeat(PAD);
    let dummy = Mutex::new(ClientStats::default());
    let (mut sent, mut echoed) = (0u64, 0u64);
    let mut next_send = Instant::now();
    let mut sending = true;
    let ended = loop {
        if !sending && echoed >= sent {
            break Ended::Done;
        }
        tokio::select! {
            frame = rx.next() => {
                let msg = match received(ctx, &dummy, frame, Instant::now()) {
                    Ok(msg) => msg,
                    Err(ended) => break ended,
                };
                if let Message::Text(t) = &msg
                    && t.starts_with(&marker)
                {
                    echoed += 1;
                }
            }
            _ = sleep_until(deadline(next_send)), if sending => {
                sent += 1;
                next_send += PLAIN_PERIOD;
                let text = format!(r#"{marker}"n":{sent},"pad":"{pad}"}}"#);
                if let Err(e) = super::send(ctx, tx, text).await {
                    break Ended::Early(e);
                }
            }
            _ = sleep_until(deadline(stop)), if sending => sending = false,
            _ = sleep_until(deadline(stop + DRAIN)) => break Ended::Done,
        }
    };
    let mut c = lock(&shared.churn);
    c.relay_sent += sent;
    c.relay_echoed += echoed;
    ended
}

// ---------------------------------------------------------------------------------------
// Slow clients.

async fn slow_client(ctx: Arc<Ctx>, shared: Arc<Shared>, n: usize) {
    let mut rng = Rng(ctx.seed ^ 0x510_3000 ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9));
    let stall = Duration::from_secs_f64(ctx.args.slow_stall);
    sleep_until(deadline(ctx.window_start + stall.mul_f64(rng.unit()))).await;
    // Only stalls that end within the window, so that the server is under full load
    // throughout each one.
    while Instant::now() + stall + SLOW_READ < ctx.window_end {
        let room = (rng.next_u64() % u64::from(ctx.args.rooms)) as usize;
        let path = room_path(&ctx, room, &format!("scene={}", ctx.args.scene));
        ctx.live
            .soak_sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut ws = match connect_with(&ctx, &path, Some(SLOW_RECV_BUFFER)).await {
            Ok(ws) => ws,
            Err(e) => {
                *lock(&shared.slow).connect_failures.entry(e).or_default() += 1;
                sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // Stop reading: the socket fills, then the server's queue for us.
        sleep(stall).await;
        let read_until = Instant::now() + SLOW_READ;
        let mut frames = 0u64;
        let outcome = loop {
            match timeout_at(deadline(read_until), ws.next()).await {
                Err(_) => break None,
                // The server gives up delivering its close frame to a client that does
                // not read after 2 s; the socket then ends without one.
                Ok(None) | Ok(Some(Err(_))) => break Some(SLOW_CUT_OFF.to_owned()),
                Ok(Some(Ok(msg))) => match close_reason(&msg) {
                    Some(reason) => break Some(reason),
                    None => frames += 1,
                },
            }
        };
        let outcome = match outcome {
            Some(o) => o,
            None => {
                let (tx, rx) = ws.split();
                close_politely(tx, rx).await;
                "kept: read on after the stall".to_owned()
            }
        };
        let mut s = lock(&shared.slow);
        s.sessions += 1;
        s.frames_read_after_stall += frames;
        *s.outcomes.entry(outcome).or_default() += 1;
    }
}

// ---------------------------------------------------------------------------------------
// Garbage clients.

/// One kind of bad input per connection, in turn.
#[derive(Copy, Clone, Debug)]
enum Junk {
    /// Random bytes instead of an HTTP request: answered 400 or closed.
    RawBytes,
    /// Half an HTTP request, then silence: closed by the header timeout.
    Slowloris,
    /// An upgrade with an unsupported WebSocket version: answered 4xx.
    BadHandshake,
    /// Malformed and invalid commands: one `error` each, and the connection stays.
    BadCommands,
    /// Relayed messages far above the message budget: `too_many_messages`, still open.
    Flood,
    /// A message above the server's size limit: closed with 1009.
    Oversize,
    /// A text frame that is not UTF-8: closed with 1007.
    InvalidUtf8,
}

/// In turn; the slow one (about 10 s) last, so that a short run sees every other kind.
const JUNK: [Junk; 7] = [
    Junk::RawBytes,
    Junk::BadHandshake,
    Junk::BadCommands,
    Junk::Flood,
    Junk::Oversize,
    Junk::InvalidUtf8,
    Junk::Slowloris,
];

impl Junk {
    fn name(self) -> &'static str {
        match self {
            Junk::RawBytes => "raw_bytes",
            Junk::Slowloris => "slowloris",
            Junk::BadHandshake => "bad_handshake",
            Junk::BadCommands => "bad_commands",
            Junk::Flood => "flood",
            Junk::Oversize => "oversize",
            Junk::InvalidUtf8 => "invalid_utf8",
        }
    }
}

/// Commands a protocol client must each get one `error` for.
const BAD_COMMANDS: &[&str] = &[
    r#"{"type":"kick","ball":0,"impulse":[1,0,"#,
    r#"{"type":"kick","ball":0,"impulse":[NaN,0,0]}"#,
    r#"{"type":"kick","ball":"zero","impulse":[1,0,0]}"#,
    r#"{"type":"kick","ball":0}"#,
    r#"{"type":"kick","ball":999,"impulse":[1,0,0]}"#,
    r#"{"type":"kick","ball":0,"impulse":[1e39,0,0]}"#,
    r#"{"type":"player","position":[0,1e300,0]}"#,
    r#"{"type":"kick","ball":0,"impulse":[0,0,1e6]}"#,
    r#"{"type":"snapshot","tick":0,"balls":[]}"#,
];

/// Messages a flooding client sends back to back.
const FLOOD: usize = 400;

async fn garbage_client(ctx: Arc<Ctx>, shared: Arc<Shared>, n: usize) {
    let mut rng = Rng(ctx.seed ^ 0x6A5B_A6E0 ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9));
    let pause = Duration::from_secs_f64(ctx.args.garbage_pause);
    sleep_until(deadline(ctx.window_start + pause.mul_f64(rng.unit()))).await;
    let mut turn = n;
    while Instant::now() < ctx.window_end {
        let junk = JUNK[turn % JUNK.len()];
        turn += 1;
        let room = (rng.next_u64() % u64::from(ctx.args.rooms)) as usize;
        ctx.live
            .soak_sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = send_junk(&ctx, &shared, junk, room, &mut rng).await;
        shared.garbage_outcome(junk, result);
        sleep(pause).await;
    }
}

/// Send one piece of junk; Ok(the server's answer) if it answered as documented.
async fn send_junk(
    ctx: &Ctx,
    shared: &Shared,
    junk: Junk,
    room: usize,
    rng: &mut Rng,
) -> Result<String, String> {
    let plain = room_path(ctx, room, "echo=false");
    let protocol = room_path(ctx, room, &format!("scene={}", ctx.args.scene));
    match junk {
        Junk::RawBytes => {
            let mut s = tcp(ctx).await?;
            // A TLS-like first byte, then noise: never a valid request line.
            let mut bytes = vec![0x16u8, 0x03, 0x01];
            bytes.extend((0..1024 + rng.next_u64() % 3072).map(|_| rng.next_u64() as u8));
            let _ = s.write_all(&bytes).await;
            http_answer(&mut s, ANSWER_WAIT).await
        }
        Junk::Slowloris => {
            let mut s = tcp(ctx).await?;
            let req = format!("GET {plain} HTTP/1.1\r\nHost: {}\r\nUpgr", ctx.host);
            s.write_all(req.as_bytes()).await.map_err(io)?;
            http_answer(&mut s, SLOWLORIS_WAIT).await
        }
        Junk::BadHandshake => {
            let mut s = tcp(ctx).await?;
            s.write_all(upgrade_request(ctx, &plain, "99").as_bytes())
                .await
                .map_err(io)?;
            match http_answer(&mut s, ANSWER_WAIT).await? {
                a if a.starts_with("http 4") => Ok(a),
                a => Err(a),
            }
        }
        Junk::BadCommands => {
            let ws = connect(ctx, &protocol).await?;
            let (mut tx, mut rx) = ws.split();
            let mut errors = 0;
            let by = deadline(Instant::now() + ANSWER_WAIT);
            for text in BAD_COMMANDS {
                tx.send(Message::text(*text)).await.map_err(ws_err)?;
            }
            while errors < BAD_COMMANDS.len() {
                let msg = match timeout_at(by, rx.next()).await {
                    Err(_) => {
                        return Err(format!("{errors} of {} errors", BAD_COMMANDS.len()));
                    }
                    Ok(None) | Ok(Some(Err(_))) => return Err("connection ended".into()),
                    Ok(Some(Ok(m))) => m,
                };
                if let Some(reason) = close_reason(&msg) {
                    return Err(reason);
                }
                if let Some(code) = error_code(&msg) {
                    errors += 1;
                    shared.garbage_error(code);
                }
            }
            close_politely(tx, rx).await;
            Ok("one error per command".into())
        }
        Junk::Flood => {
            let ws = connect(ctx, &plain).await?;
            let (mut tx, mut rx) = ws.split();
            for i in 0..FLOOD {
                let text = format!(r#"{{"soak_flood":{i}}}"#);
                tx.feed(Message::text(text)).await.map_err(ws_err)?;
            }
            tx.flush().await.map_err(ws_err)?;
            let by = deadline(Instant::now() + ANSWER_WAIT);
            let answer = loop {
                let msg = match timeout_at(by, rx.next()).await {
                    Err(_) => break Err("no too_many_messages".to_owned()),
                    Ok(None) | Ok(Some(Err(_))) => break Err("connection ended".into()),
                    Ok(Some(Ok(m))) => m,
                };
                if let Some(reason) = close_reason(&msg) {
                    break Err(reason);
                }
                if let Some(code) = error_code(&msg) {
                    shared.garbage_error(code.clone());
                    if code == "too_many_messages" {
                        break Ok("too_many_messages, still open".to_owned());
                    }
                }
            };
            close_politely(tx, rx).await;
            answer
        }
        Junk::Oversize => {
            let ws = connect(ctx, &plain).await?;
            let (mut tx, mut rx) = ws.split();
            // 1 MiB: above the default 64 KiB limit.
            let _ = tx.send(Message::text("x".repeat(1 << 20))).await;
            close_code_of(&mut rx, "1009").await
        }
        Junk::InvalidUtf8 => {
            let mut s = tcp(ctx).await?;
            s.write_all(upgrade_request(ctx, &plain, "13").as_bytes())
                .await
                .map_err(io)?;
            let head = read_head(&mut s, ANSWER_WAIT).await?;
            if !head.starts_with("HTTP/1.1 101") {
                return Err(format!("handshake: {}", first_line(&head)));
            }
            // A masked, final text frame: "é" cut after its first byte, then 0xFF.
            s.write_all(&[0x81, 0x83, 1, 2, 3, 4, 0xC3 ^ 1, 0x28 ^ 2, 0xFF ^ 3])
                .await
                .map_err(io)?;
            match timeout(ANSWER_WAIT, server_close_code(&mut s)).await {
                Err(_) => Err("no close frame".into()),
                Ok(Some(1007)) => Ok("closed 1007".into()),
                Ok(Some(code)) => Err(format!("closed {code}")),
                Ok(None) => Err("ended without a close frame".into()),
            }
        }
    }
}

async fn tcp(ctx: &Ctx) -> Result<TcpStream, String> {
    timeout(ANSWER_WAIT, TcpStream::connect(ctx.target))
        .await
        .map_err(|_| "tcp connect timed out".to_owned())?
        .map_err(|e| format!("tcp connect: {e}"))
}

fn io(e: std::io::Error) -> String {
    format!("io: {e}")
}

fn ws_err(e: tokio_tungstenite::tungstenite::Error) -> String {
    format!("websocket: {e}")
}

fn upgrade_request(ctx: &Ctx, path: &str, version: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n",
        ctx.host
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// The `code` of an `error` message.
fn error_code(msg: &Message) -> Option<String> {
    let Message::Text(t) = msg else { return None };
    let v: Value = serde_json::from_str(t).ok()?;
    (v["type"] == "error").then(|| v["code"].as_str().unwrap_or("?").to_owned())
}

/// Read until the response head ends (bounded in time and size).
async fn read_head(s: &mut TcpStream, wait: Duration) -> Result<String, String> {
    let read = async {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") && buf.len() < 16 * 1024 {
            match s.read(&mut byte).await {
                Ok(0) => break,
                Ok(_) => buf.push(byte[0]),
                Err(e) => return Err(io(e)),
            }
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    timeout(wait, read)
        .await
        .map_err(|_| format!("no answer within {} s", wait.as_secs()))?
}

/// How the server answered a bad request: "http NNN", "closed" or "reset".
async fn http_answer(s: &mut TcpStream, wait: Duration) -> Result<String, String> {
    match read_head(s, wait).await {
        Ok(head) if head.is_empty() => Ok("closed".into()),
        Ok(head) => match head.split_whitespace().nth(1) {
            Some(code) if head.starts_with("HTTP/") => Ok(format!("http {code}")),
            _ => Err(format!("not HTTP: {:?}", first_line(&head))),
        },
        Err(e) if e.contains("reset") => Ok("reset".into()),
        Err(e) => Err(e),
    }
}

/// Read server frames (unmasked) until a close frame; its status code.
async fn server_close_code(s: &mut TcpStream) -> Option<u16> {
    loop {
        let mut head = [0u8; 2];
        s.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7F {
            126 => {
                let mut b = [0u8; 2];
                s.read_exact(&mut b).await.ok()?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                s.read_exact(&mut b).await.ok()?;
                u64::from_be_bytes(b)
            }
            l => u64::from(l),
        };
        let mut payload = vec![0u8; usize::try_from(len).ok()?.min(1 << 20)];
        s.read_exact(&mut payload).await.ok()?;
        if head[0] & 0x0F == 0x8 {
            return payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        }
    }
}

/// Read until a close frame with code `want`.
async fn close_code_of(rx: &mut Rx, want: &str) -> Result<String, String> {
    let by = deadline(Instant::now() + ANSWER_WAIT);
    loop {
        match timeout_at(by, rx.next()).await {
            Err(_) => return Err("no close frame".into()),
            Ok(None) => return Err("ended without a close frame".into()),
            Ok(Some(Err(e))) => return Err(format!("read error: {e}")),
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                let code = u16::from(f.code).to_string();
                return if code == want {
                    Ok(format!("closed {code}"))
                } else {
                    Err(format!("closed {code} {}", f.reason))
                };
            }
            Ok(Some(Ok(Message::Close(None)))) => return Err("closed without a code".into()),
            Ok(Some(Ok(_))) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// The summary.

fn summarize(
    shared: &Shared,
    before: &Gauges,
    after: &Gauges,
    settled_after: Option<Duration>,
    abandoned: usize,
) -> Value {
    let churn = lock(&shared.churn);
    let slow = lock(&shared.slow);
    let garbage = lock(&shared.garbage);
    let timeline = lock(&shared.timeline).clone();
    let p = &churn.physics;
    let rss: Vec<u64> = timeline
        .iter()
        .filter_map(|t| t["rss_kib"].as_u64())
        .collect();
    // RSS growth over the second half of the window: flat means about zero.
    let growth = (rss.len() >= 2).then(|| rss[rss.len() - 1] as i64 - rss[rss.len() / 2] as i64);
    let unexpected: u64 = garbage.unexpected.values().flat_map(|m| m.values()).sum();
    json!({
        "churn": {
            "physics_sessions": p.len(),
            "plain_sessions": churn.plain_sessions,
            "connect_failures": churn.connect_failures,
            "left_with_close": churn.left_with_close,
            "left_by_dropping": churn.left_by_dropping,
            "ended_early": churn.ended_early,
            "welcomed": p.iter().filter(|s| s.welcomed).count(),
            "snapshots": {
                "received": p.iter().map(|s| s.snapshots).sum::<u64>(),
                "missed": p.iter().map(|s| s.missed).sum::<u64>(),
                "sessions_with_gaps": p.iter().filter(|s| s.missed > 0).count(),
                "jitter_ms": describe(p.iter().map(|s| &s.jitter)),
            },
            "kicks": {
                "sent": p.iter().map(|s| s.kicks_sent).sum::<u64>(),
                "acked": p.iter().map(|s| s.kicks_acked).sum::<u64>(),
                "errors": merge_counts(p.iter().map(|s| &s.kick_errors)),
            },
            "relay": {
                "sent": churn.relay_sent,
                "echoed": churn.relay_echoed,
                "lost": churn.relay_sent.saturating_sub(churn.relay_echoed),
            },
        },
        "slow": {
            "sessions": slow.sessions,
            "connect_failures": slow.connect_failures,
            "outcomes": slow.outcomes,
            "frames_read_after_stall": slow.frames_read_after_stall,
        },
        "garbage": {
            "sessions": garbage.answered.values().chain(garbage.unexpected.values())
                .flat_map(|m| m.values()).sum::<u64>(),
            "answered_as_documented": garbage.answered,
            "unexpected": garbage.unexpected,
            "unexpected_total": unexpected,
            "error_codes": garbage.error_codes,
        },
        "server": {
            "before": before.to_json(),
            "after": after.to_json(),
            "settled": settled_after.is_some(),
            "settled_after_s": settled_after.map(|d| round3(d.as_secs_f64())),
            "rss_growth_second_half_kib": growth,
            "timeline": timeline,
        },
        "abandoned_at_hard_deadline": abandoned,
    })
}
