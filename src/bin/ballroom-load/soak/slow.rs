//! Slow clients: each joins a steady room with a 4 KiB receive buffer and stops reading for
//! `--slow-stall` seconds, then reads what is left: the server must either have kept it
//! (skipping snapshots) or closed it with 1008 "too slow", never anything else. Then again,
//! until the window ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::{sleep, sleep_until, timeout_at};

use crate::connect::{close_politely, close_reason, connect_with};
use crate::context::{Ctx, deadline, lock};
use crate::rng::Rng;
use crate::stats::Tally;

/// Receive buffer of a slow client's socket, so that it fills within seconds.
const SLOW_RECV_BUFFER: u32 = 4096;
/// How long a slow client reads after its stall.
const SLOW_READ: Duration = Duration::from_secs(2);
/// The outcome when the server kept the client.
const KEPT: &str = "kept: read on after the stall";
/// The outcome when the connection ended without a close frame.
const CUT_OFF: &str = "cut off without a close frame";

/// What the slow clients saw; also the `soak.slow` section of the report.
#[derive(Default, Serialize)]
pub struct Slow {
    pub sessions: u64,
    pub connect_failures: Tally,
    /// Stalls by outcome: [`KEPT`], `closed by server: CODE REASON`, or [`CUT_OFF`].
    pub outcomes: Tally,
    pub frames_read_after_stall: u64,
}

impl Slow {
    /// Stalls after which the server had let the client go (closed it or cut it off).
    pub fn let_go(&self) -> u64 {
        self.outcomes.total_where(|o| o != KEPT)
    }

    /// Stalls that ended other than as documented: kept, closed with 1008 "too slow", or
    /// (the close frame could not reach a client that does not read) cut off.
    pub fn undocumented(&self) -> u64 {
        self.outcomes
            .total_where(|o| !(o == KEPT || o == CUT_OFF || o.contains("1008 too slow")))
    }
}

pub async fn client(ctx: Arc<Ctx>, slow: Arc<Mutex<Slow>>, n: usize) {
    let mut rng = Rng::for_task(ctx.seed, 0x510_3000, n);
    let stall = Duration::from_secs_f64(ctx.args.slow_stall);
    sleep_until(deadline(ctx.window_start + stall.mul_f64(rng.unit()))).await;
    // Only stalls that end within the window, so that the server is under full load
    // throughout each one.
    while Instant::now() + stall + SLOW_READ < ctx.window_end {
        let room = (rng.next_u64() % u64::from(ctx.args.rooms)) as usize;
        let path = ctx.room_path(room, &ctx.scene_query());
        ctx.live.soak_session();
        let mut ws = match connect_with(&ctx, &path, Some(SLOW_RECV_BUFFER)).await {
            Ok(ws) => ws,
            Err(e) => {
                lock(&slow).connect_failures.add(e);
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
                Ok(None) | Ok(Some(Err(_))) => break Some(CUT_OFF.to_owned()),
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
                KEPT.to_owned()
            }
        };
        let mut s = lock(&slow);
        s.sessions += 1;
        s.frames_read_after_stall += frames;
        s.outcomes.add(outcome);
    }
}
