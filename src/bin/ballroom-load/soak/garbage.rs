//! Garbage clients: each opens connection after connection, sending one kind of bad input
//! ([`Junk`]) per connection in turn, and checks that the server answers it as documented.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{Rx, close_politely, close_reason, connect};
use crate::context::{Ctx, deadline, lock};
use crate::rng::Rng;
use crate::stats::Tally;

/// Bound on waiting for the server's answer to one piece of garbage.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// Bound on waiting for the server to drop a half-sent request (its header timeout is
/// 10 s).
const SLOWLORIS_WAIT: Duration = Duration::from_secs(15);

/// What the garbage clients saw.
#[derive(Default)]
pub struct Garbage {
    /// kind → answer → count, for answers as documented.
    answered: BTreeMap<&'static str, Tally>,
    /// kind → what happened instead → count.
    unexpected: BTreeMap<&'static str, Tally>,
    /// Error codes the server sent to garbage clients.
    error_codes: Tally,
}

/// The `soak.garbage` section of the report.
#[derive(Serialize)]
pub struct GarbageReport {
    pub sessions: u64,
    pub answered_as_documented: BTreeMap<&'static str, Tally>,
    pub unexpected: BTreeMap<&'static str, Tally>,
    pub unexpected_total: u64,
    pub error_codes: Tally,
}

impl Garbage {
    fn outcome(&mut self, junk: Junk, result: Result<String, String>) {
        let (map, what) = match result {
            Ok(answer) => (&mut self.answered, answer),
            Err(other) => (&mut self.unexpected, other),
        };
        map.entry(junk.name()).or_default().add(what);
    }

    pub fn report(&self) -> GarbageReport {
        let total = |m: &BTreeMap<&str, Tally>| m.values().map(Tally::total).sum::<u64>();
        let unexpected_total = total(&self.unexpected);
        GarbageReport {
            sessions: total(&self.answered) + unexpected_total,
            answered_as_documented: self.answered.clone(),
            unexpected: self.unexpected.clone(),
            unexpected_total,
            error_codes: self.error_codes.clone(),
        }
    }
}

/// One kind of bad input per connection, in turn.
#[derive(Copy, Clone, Debug)]
pub enum Junk {
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

pub async fn client(ctx: Arc<Ctx>, garbage: Arc<Mutex<Garbage>>, n: usize) {
    let mut rng = Rng::for_task(ctx.seed, 0x6A5B_A6E0, n);
    let pause = Duration::from_secs_f64(ctx.args.garbage_pause);
    sleep_until(deadline(ctx.window_start + pause.mul_f64(rng.unit()))).await;
    let mut turn = n;
    while Instant::now() < ctx.window_end {
        let junk = JUNK[turn % JUNK.len()];
        turn += 1;
        let room = (rng.next_u64() % u64::from(ctx.args.rooms)) as usize;
        ctx.live.soak_session();
        let result = send_junk(&ctx, &garbage, junk, room, &mut rng).await;
        lock(&garbage).outcome(junk, result);
        sleep(pause).await;
    }
}

/// Send one piece of junk; Ok(the server's answer) if it answered as documented.
async fn send_junk(
    ctx: &Ctx,
    garbage: &Mutex<Garbage>,
    junk: Junk,
    room: usize,
    rng: &mut Rng,
) -> Result<String, String> {
    let plain = ctx.room_path(room, "echo=false");
    let protocol = ctx.room_path(room, &ctx.scene_query());
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
            let by = deadline(Instant::now() + ANSWER_WAIT);
            for text in BAD_COMMANDS {
                tx.send(Message::text(*text)).await.map_err(ws_err)?;
            }
            let all = BAD_COMMANDS.len();
            read_errors(
                garbage,
                &mut rx,
                by,
                |_, n| n == all,
                |n| format!("{n} of {all} errors"),
            )
            .await?;
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
            let answer = read_errors(
                garbage,
                &mut rx,
                by,
                |code, _| code == "too_many_messages",
                |_| "no too_many_messages".to_owned(),
            )
            .await
            .map(|()| "too_many_messages, still open".to_owned());
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

/// A raw TCP connection, from the next source address.
async fn tcp(ctx: &Ctx) -> Result<TcpStream, String> {
    let socket = ctx.sources.socket(ctx.target).map_err(io)?;
    timeout(ANSWER_WAIT, socket.connect(ctx.target))
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

/// Read the server's `error` messages (tallying their codes) until `enough(code, errors
/// so far)`, at most until `by`; what happened instead, or `missing(errors so far)` if time
/// ran out.
async fn read_errors(
    garbage: &Mutex<Garbage>,
    rx: &mut Rx,
    by: tokio::time::Instant,
    enough: impl Fn(&str, usize) -> bool,
    missing: impl FnOnce(usize) -> String,
) -> Result<(), String> {
    let mut errors = 0;
    loop {
        let msg = match timeout_at(by, rx.next()).await {
            Err(_) => return Err(missing(errors)),
            Ok(None) | Ok(Some(Err(_))) => return Err("connection ended".into()),
            Ok(Some(Ok(m))) => m,
        };
        if let Some(reason) = close_reason(&msg) {
            return Err(reason);
        }
        if let Some(code) = error_code(&msg) {
            errors += 1;
            lock(garbage).error_codes.add(code.clone());
            if enough(&code, errors) {
                return Ok(());
            }
        }
    }
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
