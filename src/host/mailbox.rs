//! Where the host puts what one member of a room is sent. The transport implements
//! [`Mailbox`] (`server::outbox`: a bounded queue for reliable frames, latest-wins for
//! snapshots, and a writer that drains both into the socket), so the host never touches a
//! socket and a slow client never stalls a room.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message;

use super::join::JoinError;
use super::snapshot_frame::SnapshotFrame;
use crate::protocol::{self, ServerMsg, WireError};
use crate::telemetry;

/// One member's outbound side, as the room sees it.
pub trait Mailbox: Send + Sync + 'static {
    /// Queue a reliable frame. A member too slow to take it is disconnected by the
    /// transport (`QueueLimits::client_soft`, `slow_grace`, `client_hard`); the room is
    /// never made to wait.
    fn send(&self, frame: Message);
    /// Offer a snapshot: latest-wins, `QueueLimits::PENDING_SNAPSHOTS` deep.
    fn send_snapshot(&self, snapshot: SnapshotFrame);
    /// End the member's connection; the first reason given is the one it is told.
    fn close(&self, why: Farewell);
}

/// A member's mailbox, shared by the room and its connection.
pub type SharedMailbox = Arc<dyn Mailbox>;

/// Why the host ends a member's connection (the transport has its own reasons besides).
#[derive(Debug, Clone, PartialEq)]
pub enum Farewell {
    /// The join was refused (the client already got an `error`).
    JoinRefused(JoinError),
    /// The room panicked and was closed.
    RoomFailed,
    /// Another connection resumed this session (`?resume=` with its token).
    Resumed,
    /// The room now runs on another node of the cluster: reconnect and resume.
    RoomMoved,
}

/// Encode once into a frame whose payload is shared by every clone.
pub fn frame(msg: &ServerMsg<'_>) -> Message {
    Message::text(protocol::encode(msg))
}

/// The `error` frame that answers a refused frame, command or join (carrying the kick's
/// `seq`, if any), counted in `ballroom_rejected_total` by code.
pub fn refusal(error: &impl WireError, seq: Option<u64>) -> Message {
    let code = error.code();
    metrics::counter!(telemetry::REJECTED, "reason" => code.as_str()).increment(1);
    frame(&ServerMsg::Error {
        code,
        message: &error.to_string(),
        seq,
    })
}
