//! A client's outbound side: what the room hands to one socket, and the policy when the
//! socket cannot keep up.
//!
//! - **Reliable messages** (welcome, joins, kicks, relayed frames, errors) go through a
//!   bounded queue (`--client-queue`). They are never dropped silently: if the queue is
//!   full the client is disconnected with close code 1008 "too slow".
//! - **Snapshots** are latest-wins: a client has at most one pending; a newer one replaces
//!   it. A slow client skips stale snapshots and never delays the room or anyone else.
//! - Frames are [`Message`]s whose payloads are reference-counted, so a snapshot encoded
//!   once is shared by every recipient.

use std::sync::{Arc, Mutex};

use futures_util::{Sink, SinkExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

/// Frames flushed together at most, so one busy client cannot hog its writer.
const WRITE_BATCH: usize = 64;

/// The sending half, held by the room and the connection.
#[derive(Clone)]
pub struct Outbox {
    reliable: mpsc::Sender<Message>,
    snapshot: Arc<watch::Sender<Option<Message>>>,
    end: Arc<End>,
}

/// A close frame's payload is at most 125 bytes, 2 of them the code.
const MAX_CLOSE_REASON: usize = 123;

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The receiving half, owned by the writer task.
pub struct OutboxRx {
    reliable: mpsc::Receiver<Message>,
    snapshot: watch::Receiver<Option<Message>>,
    end: Arc<End>,
}

struct End {
    token: CancellationToken,
    close: Mutex<Option<CloseFrame>>,
}

/// `capacity` reliable messages may wait; `token` ends the connection (a child of the
/// server's shutdown token).
pub fn outbox(capacity: usize, token: CancellationToken) -> (Outbox, OutboxRx) {
    let (tx, rx) = mpsc::channel(capacity);
    let (stx, srx) = watch::channel(None);
    let end = Arc::new(End {
        token,
        close: Mutex::new(None),
    });
    (
        Outbox {
            reliable: tx,
            snapshot: Arc::new(stx),
            end: end.clone(),
        },
        OutboxRx {
            reliable: rx,
            snapshot: srx,
            end,
        },
    )
}

/// The client could not take a reliable message and is being disconnected.
#[derive(Debug, thiserror::Error)]
#[error("client outbound queue is full")]
pub struct TooSlow;

impl Outbox {
    /// Queue a reliable message; on overflow the client is disconnected.
    pub fn send(&self, msg: Message) -> Result<(), TooSlow> {
        match self.reliable.try_send(msg) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Ok(()), // already ending
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.disconnect(CloseCode::Policy, "too slow: outbound queue full");
                Err(TooSlow)
            }
        }
    }

    /// Replace the pending snapshot, if any, with this one.
    pub fn send_snapshot(&self, msg: Message) {
        self.snapshot.send_replace(Some(msg));
    }

    /// End the connection with this close frame (the first reason given wins). The
    /// reason is cut to the 123 bytes a close frame can carry.
    pub fn disconnect(&self, code: CloseCode, reason: &str) {
        let reason = truncate_utf8(reason, MAX_CLOSE_REASON);
        let mut close = self.end.close.lock().unwrap_or_else(|e| e.into_inner());
        if close.is_none() && !self.end.token.is_cancelled() {
            *close = Some(CloseFrame {
                code,
                reason: reason.into(),
            });
        }
        drop(close);
        self.end.token.cancel();
    }

    /// Resolves once the connection is ending, for whatever reason.
    pub async fn ended(&self) {
        self.end.token.cancelled().await
    }
}

/// Write everything the outbox receives to `sink` until the connection ends, then send
/// what is still queued and the close frame (both within 2 s). Pending reliable messages are written in batches with one flush.
pub async fn write_loop<S>(mut sink: S, mut rx: OutboxRx)
where
    S: Sink<Message> + Unpin,
{
    let token = rx.end.token.clone();
    loop {
        let ok = tokio::select! {
            biased;
            _ = token.cancelled() => break,
            msg = rx.reliable.recv() => {
                let Some(msg) = msg else { break };
                let batch = async {
                    sink.feed(msg).await?;
                    for _ in 1..WRITE_BATCH {
                        match rx.reliable.try_recv() {
                            Ok(m) => sink.feed(m).await?,
                            Err(_) => break,
                        }
                    }
                    sink.flush().await
                };
                tokio::select! {
                    r = batch => r.is_ok(),
                    _ = token.cancelled() => break,
                }
            }
            changed = rx.snapshot.changed() => {
                if changed.is_err() {
                    break;
                }
                let msg = rx.snapshot.borrow_and_update().clone();
                match msg {
                    Some(msg) => tokio::select! {
                        r = sink.send(msg) => r.is_ok(),
                        _ = token.cancelled() => break,
                    },
                    None => true,
                }
            }
        };
        if !ok {
            token.cancel();
            return;
        }
    }
    let frame = rx
        .end
        .close
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or(CloseFrame {
            code: CloseCode::Away,
            reason: "server shutting down".into(),
        });
    // What was already queued (an error explaining the close, say) goes out first, within
    // the same time bound as the close frame itself.
    let close = async {
        while let Ok(m) = rx.reliable.try_recv() {
            if sink.feed(m).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), close).await;
}

#[cfg(test)]
mod tests {
    use super::truncate_utf8;

    #[test]
    fn close_reasons_are_cut_at_a_char_boundary() {
        assert_eq!(truncate_utf8("short", 123), "short");
        let long = "é".repeat(100); // 200 bytes
        let cut = truncate_utf8(&long, 123);
        assert_eq!(cut.len(), 122);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
