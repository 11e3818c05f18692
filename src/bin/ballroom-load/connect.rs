//! WebSocket clients' sockets: connecting through the run's concurrency gate, taking frames
//! off the socket with the run's accounting, sending with a bound, and closing.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::context::{Ctx, deadline, lock};
use crate::stats::ClientStats;

/// Bound on the close handshake at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Initial WebSocket read buffer per client, as the server's.
const READ_BUFFER: usize = 4 * 1024;

pub type Ws = WebSocketStream<TcpStream>;
pub type Tx = futures_util::stream::SplitSink<Ws, Message>;
pub type Rx = futures_util::stream::SplitStream<Ws>;

/// How a client's session ended.
pub enum Ended {
    /// The session ran to the end; close the socket.
    Done,
    /// The connection ended on its own (or failed).
    Early(String),
}

pub async fn connect(ctx: &Ctx, path: &str) -> Result<Ws, String> {
    connect_with(ctx, path, None).await
}

/// Connect through the concurrency gate, from the next source address, optionally with a
/// small socket receive buffer (set before connecting, so that the window the server sees
/// is small from the start).
pub async fn connect_with(ctx: &Ctx, path: &str, recv_buffer: Option<u32>) -> Result<Ws, String> {
    let _permit = tokio::select! {
        p = ctx.gate.acquire() => p.map_err(|e| e.to_string())?,
        _ = sleep_until(deadline(ctx.window_end)) => {
            return Err("not started before the end of the window".into());
        }
    };
    let limit =
        (Instant::now() + Duration::from_secs_f64(ctx.args.connect_timeout)).min(ctx.window_end);
    let attempt = async {
        let socket = ctx
            .sources
            .socket(ctx.target)
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
        // tungstenite zeroes its whole read buffer's spare room before each read: with the
        // default 128 KiB that was half of this tool's CPU. Frames here are small (the
        // buffer still grows for a large one), so start at the server's 4 KiB.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
            .await
            .map_err(|e| format!("websocket handshake: {e}"))?;
        Ok(ws)
    };
    timeout_at(deadline(limit), attempt)
        .await
        .unwrap_or_else(|_| Err("connect timed out".into()))
}

/// Send a close frame and read until the server's, bounded by `CLOSE_WAIT`.
pub async fn close_politely(mut tx: Tx, mut rx: Rx) {
    let close = async {
        let _ = tx.send(Message::Close(None)).await;
        while let Some(Ok(_)) = rx.next().await {}
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, close).await;
}

/// One frame off the socket, accounted for; or why the connection ended.
pub fn received(
    ctx: &Ctx,
    stats: &Mutex<ClientStats>,
    frame: Option<Result<Message, tungstenite::Error>>,
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

/// Count one received frame (live, and within the window per client).
pub fn account(ctx: &Ctx, stats: &Mutex<ClientStats>, msg: &Message, now: Instant) {
    ctx.live.frames.fetch_add(1, Ordering::Relaxed);
    if ctx.in_window(now) {
        let mut s = lock(stats);
        s.bytes += msg.len() as u64;
        s.frames += 1;
    }
}

/// Send one text frame, giving up at the end of the drain (a server that stops reading
/// must not hold the run).
pub async fn send(ctx: &Ctx, tx: &mut Tx, text: String) -> Result<(), String> {
    match timeout_at(deadline(ctx.drain_end), tx.send(Message::text(text))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("send failed: {e}")),
        Err(_) => Err("send blocked until the end of the run".into()),
    }
}

/// `closed by server: CODE REASON` for a close frame.
pub fn close_reason(msg: &Message) -> Option<String> {
    match msg {
        Message::Close(Some(f)) => Some(format!("closed by server: {} {}", f.code, f.reason)),
        Message::Close(None) => Some("closed by server".into()),
        _ => None,
    }
}
