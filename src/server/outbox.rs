//! A client's outbound side: what the room hands to one socket, and the policy when the
//! socket cannot keep up (the sizes and what happens when full are in `queues.rs`).
//!
//! - **Reliable messages** (welcome, joins, kicks, match events, relayed frames, errors) go
//!   through a bounded queue. They are never dropped silently: a client that cannot take
//!   them is disconnected with close code 1008 "too slow". "Cannot take them" means its
//!   backlog has stayed above [`QueueLimits::client_soft`] for longer than
//!   [`QueueLimits::slow_grace`], or has reached [`QueueLimits::client_hard`]. Queued frames
//!   share their payloads, so each costs a client only a `Message` handle.
//! - **Snapshots** are latest-wins, [`QueueLimits::PENDING_SNAPSHOTS`] deep: a newer one
//!   pushes out the oldest. A slow client skips stale snapshots and never delays the room
//!   or anyone else.
//! - Frames are [`Message`]s whose payloads are reference-counted, so a snapshot encoded
//!   once is shared by every recipient: handing it to a client is a reference-count bump.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::disconnect::DisconnectReason;
use crate::host::mailbox::refusal;
use crate::host::snapshot_frame::{SentSnapshots, SnapshotFrame};
use crate::host::{Farewell, Mailbox, QueueLimits};
use crate::protocol::WireError;
use crate::telemetry;

/// Frames flushed together at most, so one busy client cannot hog its writer.
const WRITE_BATCH: usize = 64;

/// The sending half, held by the room and the connection.
#[derive(Clone)]
pub struct Outbox {
    reliable: mpsc::Sender<Message>,
    shared: Arc<OutboxState>,
}

/// The receiving half, owned by the writer task.
pub struct OutboxRx {
    reliable: mpsc::Receiver<Message>,
    shared: Arc<OutboxState>,
}

struct OutboxState {
    /// Backlog above which the grace period runs (`--client-queue`).
    soft: usize,
    grace: Duration,
    created: Instant,
    /// When the backlog last went above `soft`, in µs since `created` plus one; 0 while
    /// it is not above.
    over_since: AtomicU64,
    /// The pending snapshots, oldest first (at most [`QueueLimits::PENDING_SNAPSHOTS`]),
    /// taken by the writer.
    snapshots: Mutex<VecDeque<SnapshotFrame>>,
    /// Set with each snapshot offered, cleared by the writer as it takes them.
    snapshot_ready: AtomicBool,
    /// The writer, waiting: woken by a snapshot (reliable messages wake it through their
    /// channel, the end of the connection through `token`).
    writer: AtomicWaker,
    token: CancellationToken,
    /// Set with `token` by [`Outbox::disconnect`]: what the writer checks first on every
    /// wake-up (a load, where asking the token takes its lock).
    ending: AtomicBool,
    why: Mutex<Option<DisconnectReason>>,
}

/// A client whose backlog of reliable messages stays above `limits.client_soft` for longer
/// than `limits.slow_grace`, or reaches `limits.client_hard`, is disconnected as too slow;
/// `token` ends the connection (a child of the server's shutdown token).
pub fn outbox(limits: &QueueLimits, token: CancellationToken) -> (Outbox, OutboxRx) {
    let soft = limits.client_soft.max(1);
    let (tx, rx) = mpsc::channel(limits.client_hard.max(soft));
    let shared = Arc::new(OutboxState {
        soft,
        grace: limits.slow_grace,
        created: Instant::now(),
        over_since: AtomicU64::new(0),
        snapshots: Mutex::new(VecDeque::with_capacity(QueueLimits::PENDING_SNAPSHOTS)),
        snapshot_ready: AtomicBool::new(false),
        writer: AtomicWaker::new(),
        token,
        ending: AtomicBool::new(false),
        why: Mutex::new(None),
    });
    (
        Outbox {
            reliable: tx,
            shared: shared.clone(),
        },
        OutboxRx {
            reliable: rx,
            shared,
        },
    )
}

/// The client could not take a reliable message and is being disconnected.
#[derive(Debug, thiserror::Error)]
#[error("client outbound queue is full")]
pub struct TooSlow;

impl Outbox {
    /// Queue a reliable message; a client too slow to take it is disconnected (see the
    /// module docs for when that is).
    pub fn send(&self, msg: Message) -> Result<(), TooSlow> {
        match self.reliable.try_send(msg) {
            Ok(()) => {
                let backlog = self.reliable.max_capacity() - self.reliable.capacity();
                if self.over_soft_limit_too_long(backlog) {
                    self.disconnect(DisconnectReason::TooSlow);
                    return Err(TooSlow);
                }
                Ok(())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(()), // already ending
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.disconnect(DisconnectReason::TooSlow);
                Err(TooSlow)
            }
        }
    }

    /// Track how long the backlog has been above the soft limit; true once that is longer
    /// than the grace period.
    fn over_soft_limit_too_long(&self, backlog: usize) -> bool {
        let s = &self.shared;
        if backlog <= s.soft {
            if s.over_since.load(Ordering::Relaxed) != 0 {
                s.over_since.store(0, Ordering::Relaxed);
            }
            return false;
        }
        let now = s.created.elapsed().as_micros() as u64 + 1;
        let since = match s.over_since.load(Ordering::Relaxed) {
            0 => {
                s.over_since.store(now, Ordering::Relaxed);
                now
            }
            t => t,
        };
        Duration::from_micros(now - since) > s.grace
    }

    /// Add a snapshot to the pending ones, pushing out the oldest if there are
    /// [`QueueLimits::PENDING_SNAPSHOTS`] already.
    pub fn send_snapshot(&self, snapshot: SnapshotFrame) {
        let mut pending = lock(&self.shared.snapshots);
        let skipped =
            (pending.len() == QueueLimits::PENDING_SNAPSHOTS).then(|| pending.pop_front());
        pending.push_back(snapshot);
        drop(pending);
        if skipped.is_some() {
            telemetry::hot().snapshots_skipped.increment(1);
        }
        self.shared.snapshot_ready.store(true, Ordering::Release);
        self.shared.writer.wake();
    }

    /// Answer a refused frame, command or join with an `error` (carrying the kick's
    /// `seq`, if any), and count it by code.
    pub fn reject(&self, error: &impl WireError, seq: Option<u64>) {
        let _ = self.send(refusal(error, seq));
    }

    /// End the connection; the first reason given is the one the client is told.
    pub fn disconnect(&self, why: DisconnectReason) {
        let mut slot = lock(&self.shared.why);
        if slot.is_none() && !self.shared.token.is_cancelled() {
            *slot = Some(why);
        }
        drop(slot);
        self.shared.ending.store(true, Ordering::Release);
        self.shared.token.cancel();
        self.shared.writer.wake();
    }

    /// Resolves once the connection is ending, for whatever reason. One future for as
    /// long as the caller waits (it stays registered), not one per wait.
    pub fn ended(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.shared.token.clone().cancelled_owned()
    }
}

impl Mailbox for Outbox {
    fn send(&self, frame: Message) {
        let _ = Outbox::send(self, frame);
    }

    fn send_snapshot(&self, snapshot: SnapshotFrame) {
        Outbox::send_snapshot(self, snapshot);
    }

    fn close(&self, why: Farewell) {
        self.disconnect(why.into());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What woke the writer.
enum Woken {
    /// A reliable message or a ping, to write first.
    Frame(Message),
    /// Snapshots are pending.
    Snapshots,
    /// The connection is ending (or every sender is gone).
    End,
}

/// Write everything the outbox receives to `sink`, and a ping every `ping_every`, until the
/// connection ends, then send what is still queued and the close frame (both within 2 s).
/// Whatever is pending when the writer wakes (reliable messages first, then the latest
/// snapshots) goes out with a single flush, so a kick event and the snapshot of its tick
/// cost one write. The writer waits on one future for its whole life: the wake-up per
/// snapshot costs a poll of what it waits for, not new futures registered and dropped.
pub async fn write_loop<S>(mut sink: S, mut rx: OutboxRx, ping_every: std::time::Duration)
where
    S: Sink<Message> + Unpin,
{
    let shared = rx.shared.clone();
    let mut sent = SentSnapshots::default();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cancelled = pin!(shared.token.clone().cancelled_owned());
    loop {
        let woken = poll_fn(|cx| {
            // Registered before looking, so a snapshot or a disconnect in between still
            // wakes us.
            shared.writer.register(cx.waker());
            if shared.ending.load(Ordering::Acquire) {
                return Poll::Ready(Woken::End);
            }
            match rx.reliable.poll_recv(cx) {
                Poll::Ready(Some(msg)) => return Poll::Ready(Woken::Frame(msg)),
                Poll::Ready(None) => return Poll::Ready(Woken::End),
                Poll::Pending => {}
            }
            if shared.snapshot_ready.swap(false, Ordering::Acquire) {
                return Poll::Ready(Woken::Snapshots);
            }
            if ping.poll_tick(cx).is_ready() {
                return Poll::Ready(Woken::Frame(Message::Ping(Default::default())));
            }
            // Last: the server shutting down (which cancels `token` from its parent).
            match cancelled.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Woken::End),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        let first = match woken {
            Woken::End => break,
            Woken::Frame(msg) => Some(msg),
            Woken::Snapshots => None,
        };
        let batch = async {
            let mut frames = 0u64;
            let mut bytes = 0usize;
            let mut next = first;
            while let Some(msg) = next.take() {
                frames += 1;
                bytes += msg.len();
                sink.feed(msg).await?;
                if frames < WRITE_BATCH as u64 {
                    next = rx.reliable.try_recv().ok();
                }
            }
            shared.snapshot_ready.store(false, Ordering::Relaxed);
            let pending = {
                let mut pending = lock(&shared.snapshots);
                std::array::from_fn::<_, { QueueLimits::PENDING_SNAPSHOTS }, _>(|_| {
                    pending.pop_front()
                })
            };
            for snapshot in pending.into_iter().flatten().map(|s| sent.message(s)) {
                frames += 1;
                bytes += snapshot.len();
                sink.feed(snapshot).await?;
            }
            if frames > 0 {
                telemetry::count_out(frames, bytes);
                sink.flush().await?;
            }
            Ok::<_, S::Error>(())
        };
        // A socket that blocks is left for as long as the connection lasts, no longer.
        let ok = tokio::select! {
            biased;
            r = batch => r.is_ok(),
            _ = cancelled.as_mut() => break,
        };
        if !ok {
            // The socket failed under us.
            let _ = lock(&shared.why).get_or_insert(DisconnectReason::Gone);
            shared.token.cancel();
            break;
        }
    }
    let why = lock(&shared.why)
        .clone()
        .unwrap_or(DisconnectReason::Shutdown);
    metrics::counter!(telemetry::DISCONNECTS, "reason" => why.label()).increment(1);
    let Some(close_frame) = why.close_frame() else {
        return; // the socket is gone
    };
    // What was already queued (an error explaining the close, say) goes out first, within
    // the same time bound as the close frame itself.
    let close = async {
        while let Ok(m) = rx.reliable.try_recv() {
            if sink.feed(m).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(Some(close_frame))).await;
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), close).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn snapshots_are_latest_wins_and_the_hard_cap_disconnects() {
        let (tx, mut rx) = outbox(
            &QueueLimits::with_client_queue(2, Duration::from_secs(3600)),
            CancellationToken::new(),
        );
        for i in 0..5 {
            tx.send_snapshot(SnapshotFrame::Json(Message::text(format!("snap {i}"))));
        }
        let pending: Vec<Message> = lock(&rx.shared.snapshots)
            .drain(..)
            .map(|s| match s {
                SnapshotFrame::Json(m) => m,
                SnapshotFrame::Binary(_) => unreachable!("only JSON was sent"),
            })
            .collect();
        assert_eq!(
            pending,
            [Message::text("snap 3"), Message::text("snap 4")],
            "the latest two win"
        );
        // Above the soft limit of 2 but within the grace: kept, up to the hard cap.
        for i in 0..2 * QueueLimits::HARD_FACTOR {
            tx.send(Message::text(format!("m{i}"))).unwrap();
        }
        assert!(!rx.shared.token.is_cancelled());
        assert!(tx.send(Message::text("one too many")).is_err());
        assert!(rx.shared.token.is_cancelled());
        assert_eq!(
            lock(&rx.shared.why).clone(),
            Some(DisconnectReason::TooSlow)
        );
        assert_eq!(rx.reliable.recv().await, Some(Message::text("m0")));
    }

    #[tokio::test]
    async fn a_burst_drained_in_time_is_kept_and_a_lasting_backlog_is_not() {
        let (tx, mut rx) = outbox(
            &QueueLimits::with_client_queue(2, Duration::from_millis(50)),
            CancellationToken::new(),
        );
        // A burst above the soft limit, drained at once: nothing happens, and the clock
        // starts again from zero.
        for _ in 0..5 {
            tx.send(Message::text("burst")).unwrap();
        }
        while rx.reliable.try_recv().is_ok() {}
        tx.send(Message::text("after")).unwrap();
        assert_eq!(tx.shared.over_since.load(Ordering::Relaxed), 0);
        std::thread::sleep(Duration::from_millis(80));
        for _ in 0..2 {
            tx.send(Message::text("more")).unwrap();
        }
        assert!(!rx.shared.token.is_cancelled());
        // Now above the limit and never drained: disconnected once the grace is over.
        std::thread::sleep(Duration::from_millis(80));
        assert!(tx.send(Message::text("late")).is_err());
        assert_eq!(
            lock(&rx.shared.why).clone(),
            Some(DisconnectReason::TooSlow)
        );
    }
}
