//! Churners: each joins a random room (one of 2 × `--rooms`, so rooms also open and close),
//! stays about `--churn-stay` seconds and leaves, one time in four by dropping the socket
//! without a close frame; then again, until the window ends. Half the sessions are physics
//! clients, checked for snapshot gaps like the steady ones; half are plain clients that
//! relay a message every half second and check that each one comes back (echo).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::time::{sleep, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use crate::connect::{Ended, Rx, Tx, close_politely, connect, received, send};
use crate::context::{Ctx, DRAIN, deadline, lock};
use crate::physics::{self, Session};
use crate::rng::Rng;
use crate::stats::{ClientStats, KickCounts, SnapshotCounts, Tally, with_gaps};

/// Gap between two relayed messages of a plain churner.
const PLAIN_PERIOD: Duration = Duration::from_millis(500);
/// A relayed message's padding, so that reliable traffic has some weight.
const PAD: usize = 400;

/// What the churners saw, session by session.
#[derive(Default)]
pub struct Churn {
    /// Every physics session's measurements (snapshot gaps, kicks).
    physics: Vec<ClientStats>,
    plain_sessions: u64,
    connect_failures: Tally,
    left_with_close: u64,
    left_by_dropping: u64,
    /// Sessions that ended before their stay was over, by reason.
    ended_early: Tally,
    relay_sent: u64,
    relay_echoed: u64,
}

/// The `soak.churn` section of the report.
#[derive(Serialize)]
pub struct ChurnReport {
    pub physics_sessions: usize,
    pub plain_sessions: u64,
    pub connect_failures: Tally,
    pub left_with_close: u64,
    pub left_by_dropping: u64,
    pub ended_early: Tally,
    pub welcomed: usize,
    pub snapshots: ChurnSnapshots,
    pub kicks: KickCounts,
    pub relay: ChurnRelay,
}

#[derive(Serialize)]
pub struct ChurnSnapshots {
    #[serde(flatten)]
    pub counts: SnapshotCounts,
    pub sessions_with_gaps: usize,
}

/// The plain sessions' relayed messages.
#[derive(Serialize)]
pub struct ChurnRelay {
    pub sent: u64,
    pub echoed: u64,
    pub lost: u64,
}

impl Churn {
    pub fn report(&self) -> ChurnReport {
        let p = &self.physics;
        ChurnReport {
            physics_sessions: p.len(),
            plain_sessions: self.plain_sessions,
            connect_failures: self.connect_failures.clone(),
            left_with_close: self.left_with_close,
            left_by_dropping: self.left_by_dropping,
            ended_early: self.ended_early.clone(),
            welcomed: p.iter().filter(|s| s.welcomed).count(),
            snapshots: ChurnSnapshots {
                counts: SnapshotCounts::of(p),
                sessions_with_gaps: with_gaps(p),
            },
            kicks: KickCounts::of(p),
            relay: ChurnRelay {
                sent: self.relay_sent,
                echoed: self.relay_echoed,
                lost: self.relay_sent.saturating_sub(self.relay_echoed),
            },
        }
    }
}

pub async fn client(ctx: Arc<Ctx>, churn: Arc<Mutex<Churn>>, n: usize) {
    let mut rng = Rng::for_task(ctx.seed, 0xC0FF_EE00, n);
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
            ctx.scene_query()
        } else {
            "echo=true".to_owned()
        };
        ctx.live.soak_session();
        let ws = match connect(&ctx, &ctx.room_path(room, &query)).await {
            Ok(ws) => ws,
            Err(e) => {
                lock(&churn).connect_failures.add(e);
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
            let ended = physics::run(&ctx, &session, &mut tx, &mut rx, &stats, &mut rng).await;
            let mut stats = stats.into_inner().unwrap_or_else(|e| e.into_inner());
            stats.connected = true;
            if let Ended::Early(reason) = &ended {
                stats.ended_early = Some(reason.clone());
            }
            lock(&churn).physics.push(stats);
            ended
        } else {
            let (ended, sent, echoed) = plain(&ctx, (n, k), stop, &mut tx, &mut rx).await;
            let mut c = lock(&churn);
            c.plain_sessions += 1;
            c.relay_sent += sent;
            c.relay_echoed += echoed;
            ended
        };
        match ended {
            Ended::Done if rng.unit() < 0.25 => {
                drop((tx, rx));
                lock(&churn).left_by_dropping += 1;
            }
            Ended::Done => {
                close_politely(tx, rx).await;
                lock(&churn).left_with_close += 1;
            }
            Ended::Early(reason) => lock(&churn).ended_early.add(reason),
        }
        sleep(Duration::from_secs_f64(0.5 * rng.unit())).await;
    }
}

/// A plain client's stay: relay a padded message every `PLAIN_PERIOD` until `stop` and
/// count the echoes of its own messages (a relayed message is reliable: none may be lost).
/// How it ended, messages sent, echoes received.
async fn plain(
    ctx: &Ctx,
    (n, k): (usize, u64),
    stop: Instant,
    tx: &mut Tx,
    rx: &mut Rx,
) -> (Ended, u64, u64) {
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
                if let Err(e) = send(ctx, tx, text).await {
                    break Ended::Early(e);
                }
            }
            _ = sleep_until(deadline(stop)), if sending => sending = false,
            _ = sleep_until(deadline(stop + DRAIN)) => break Ended::Done,
        }
    };
    (ended, sent, echoed)
}
