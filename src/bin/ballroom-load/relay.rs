//! Relay clients: plain clients (`?echo=true`), some of them sending small JSON messages
//! that the server relays to the whole room; every client counts every message of its room
//! and its latency. Relies on nothing ballroom-specific.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::time::sleep_until;
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{Ended, Rx, Tx, received, send};
use crate::context::{Ctx, deadline, lock};
use crate::rng::Rng;
use crate::stats::ClientStats;

/// The tool's own relay message; anything that does not parse as one is ignored.
#[derive(Deserialize)]
struct LoadMsg {
    load: u64,
    run: u64,
    room: u64,
    t: u64,
}

/// Relay client `idx` on a connected socket: send (if it is one of the senders) until the
/// end of the window, count deliveries until the end of the drain.
pub async fn run(
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
