//! Why a connection ends, and what the client is told: the one list of reasons, each with
//! its metrics label and its close frame.

use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::host::{Farewell, JoinError};

/// A close frame's payload is at most 125 bytes, 2 of them the code.
const MAX_CLOSE_REASON: usize = 123;

/// Why a connection ends.
#[derive(Debug, Clone, PartialEq)]
pub enum DisconnectReason {
    /// The client sent a close frame.
    ClientClosed,
    /// The socket went away without a close frame (reset, EOF, I/O error). Nothing is sent.
    Gone,
    /// The client could not keep up with its reliable messages (see `outbox.rs`).
    TooSlow,
    /// A message above `--max-message-size`.
    TooBig { limit: usize },
    /// A text frame that is not UTF-8.
    InvalidUtf8,
    /// A WebSocket protocol violation.
    Protocol(String),
    /// The join was refused (the client already got an `error`).
    JoinRefused(JoinError),
    /// The client stayed over its message budget for `--flood-grace`.
    MessageFlood { rate: f64, grace: Duration },
    /// Nothing arrived from the client for `--idle-timeout`.
    IdleTimeout(Duration),
    /// The client's room panicked and was closed.
    RoomFailed,
    /// The server is shutting down.
    Shutdown,
    /// Another connection resumed this session (`?resume=` with its token).
    Resumed,
    /// The room now runs on another node of the cluster (this node lost its lease, or
    /// cannot reach NATS): reconnect and resume with the session's token.
    RoomMoved,
}

impl DisconnectReason {
    /// The `reason` label of `ballroom_disconnects_total`.
    pub fn label(&self) -> &'static str {
        match self {
            DisconnectReason::ClientClosed => "client_closed",
            DisconnectReason::Gone => "gone",
            DisconnectReason::TooSlow => "too_slow",
            DisconnectReason::TooBig { .. } => "message_too_big",
            DisconnectReason::InvalidUtf8 => "invalid_utf8",
            DisconnectReason::Protocol(_) => "protocol_error",
            DisconnectReason::JoinRefused(_) => "join_refused",
            DisconnectReason::MessageFlood { .. } => "message_flood",
            DisconnectReason::IdleTimeout(_) => "idle_timeout",
            DisconnectReason::RoomFailed => "room_failed",
            DisconnectReason::Shutdown => "shutdown",
            DisconnectReason::Resumed => "resumed_elsewhere",
            DisconnectReason::RoomMoved => "room_moved",
        }
    }

    /// The close frame that tells the client, or `None` when the socket is already gone.
    pub fn close_frame(&self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            DisconnectReason::Gone => return None,
            DisconnectReason::ClientClosed => (CloseCode::Normal, String::new()),
            DisconnectReason::TooSlow => (
                CloseCode::Policy,
                "too slow: outbound queue full".to_owned(),
            ),
            DisconnectReason::TooBig { limit } => (
                CloseCode::Size,
                format!("message too big: the limit is {limit} bytes"),
            ),
            DisconnectReason::InvalidUtf8 => (
                CloseCode::Invalid,
                "invalid UTF-8 in a text frame".to_owned(),
            ),
            DisconnectReason::Protocol(e) => (CloseCode::Protocol, e.clone()),
            DisconnectReason::JoinRefused(e) => (e.close_code(), e.to_string()),
            DisconnectReason::RoomFailed => (CloseCode::Error, "room failed; reconnect".to_owned()),
            DisconnectReason::MessageFlood { rate, grace } => (
                CloseCode::Policy,
                format!(
                    "too many messages: over {rate} per second (pings included) for {} s",
                    grace.as_secs_f64()
                ),
            ),
            DisconnectReason::IdleTimeout(t) => (
                CloseCode::Policy,
                format!("idle timeout: nothing received for {} s", t.as_secs_f64()),
            ),
            DisconnectReason::Shutdown => (CloseCode::Away, "server shutting down".to_owned()),
            DisconnectReason::Resumed => (
                CloseCode::Policy,
                "session resumed on another connection".to_owned(),
            ),
            DisconnectReason::RoomMoved => (
                CloseCode::Restart,
                "room moved to another node; reconnect and resume".to_owned(),
            ),
        };
        Some(CloseFrame {
            code,
            reason: truncate_utf8(&reason, MAX_CLOSE_REASON).into(),
        })
    }
}

impl From<Farewell> for DisconnectReason {
    fn from(why: Farewell) -> DisconnectReason {
        match why {
            Farewell::JoinRefused(refused) => DisconnectReason::JoinRefused(refused),
            Farewell::RoomFailed => DisconnectReason::RoomFailed,
            Farewell::Resumed => DisconnectReason::Resumed,
            Farewell::RoomMoved => DisconnectReason::RoomMoved,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_cut_at_a_char_boundary() {
        assert_eq!(truncate_utf8("short", 123), "short");
        let long = "é".repeat(100); // 200 bytes
        let cut = truncate_utf8(&long, 123);
        assert_eq!(cut.len(), 122);
        assert!(cut.chars().all(|c| c == 'é'));
        let refused = JoinError::UnknownScene("x".repeat(300));
        let frame = DisconnectReason::JoinRefused(refused)
            .close_frame()
            .unwrap();
        assert_eq!((frame.code, frame.reason.len()), (CloseCode::Policy, 123));
    }

    /// One of every reason, and one of every refused join. The `match`es fail to compile
    /// when a variant is added and not listed here.
    fn every_reason() -> Vec<DisconnectReason> {
        let joins = [
            JoinError::BadRoom(256),
            JoinError::BadOption {
                key: "echo".into(),
                value: "maybe".into(),
                expected: "true or false",
            },
            JoinError::UnknownScene("x".into()),
            JoinError::SceneFailed {
                name: "x".into(),
                reason: "model `m.glb`: malformed glTF".into(),
            },
            JoinError::TooManyRooms(1),
            JoinError::from(super::super::address_budget::OverBudget {
                kind: super::super::address_budget::Kind::RoomOpens,
                rate: 1.0,
                burst: 20,
                retry_after: Duration::from_secs(1),
            }),
            JoinError::RoomFull(1),
            JoinError::ShuttingDown,
            JoinError::RoomBusy,
        ];
        for j in &joins {
            match j {
                JoinError::BadRoom(_)
                | JoinError::BadOption { .. }
                | JoinError::UnknownScene(_)
                | JoinError::SceneFailed { .. }
                | JoinError::TooManyRooms(_)
                | JoinError::OpenRate { .. }
                | JoinError::RoomFull(_)
                | JoinError::ShuttingDown
                | JoinError::RoomBusy => {}
            }
        }
        let mut reasons = vec![
            DisconnectReason::ClientClosed,
            DisconnectReason::Gone,
            DisconnectReason::TooSlow,
            DisconnectReason::TooBig { limit: 1 },
            DisconnectReason::InvalidUtf8,
            DisconnectReason::Protocol("x".into()),
            DisconnectReason::IdleTimeout(Duration::from_secs(1)),
            DisconnectReason::MessageFlood {
                rate: 60.0,
                grace: Duration::from_secs(3),
            },
            DisconnectReason::RoomFailed,
            DisconnectReason::Shutdown,
            DisconnectReason::Resumed,
            DisconnectReason::RoomMoved,
        ];
        reasons.extend(joins.into_iter().map(DisconnectReason::JoinRefused));
        for r in &reasons {
            match r {
                DisconnectReason::ClientClosed
                | DisconnectReason::Gone
                | DisconnectReason::TooSlow
                | DisconnectReason::TooBig { .. }
                | DisconnectReason::InvalidUtf8
                | DisconnectReason::Protocol(_)
                | DisconnectReason::JoinRefused(_)
                | DisconnectReason::IdleTimeout(_)
                | DisconnectReason::MessageFlood { .. }
                | DisconnectReason::RoomFailed
                | DisconnectReason::Shutdown
                | DisconnectReason::Resumed
                | DisconnectReason::RoomMoved => {}
            }
        }
        reasons
    }

    #[test]
    fn every_close_code_is_documented_and_every_documented_code_is_sent() {
        let documented: Vec<u16> = crate::doc_tables::first_column("Close codes")
            .iter()
            .map(|cell| {
                let number = cell.split_whitespace().next().unwrap_or_default();
                number
                    .parse()
                    .unwrap_or_else(|_| panic!("close-code row `{cell}` starts with a number"))
            })
            .collect();
        let mut sent: Vec<u16> = every_reason()
            .iter()
            .filter_map(DisconnectReason::close_frame)
            .map(|f| f.code.into())
            .collect();
        sent.sort_unstable();
        sent.dedup();
        for code in &sent {
            assert!(
                documented.contains(code),
                "close code {code} is sent but missing from PROTOCOL.md's close-code table"
            );
        }
        for code in &documented {
            assert!(
                sent.contains(code),
                "PROTOCOL.md documents close code {code}, which the server never sends"
            );
        }
    }

    #[test]
    fn refused_joins_close_with_their_own_code() {
        let close = |e: JoinError| {
            DisconnectReason::JoinRefused(e)
                .close_frame()
                .map(|f| u16::from(f.code))
        };
        assert_eq!(close(JoinError::BadRoom(9)), Some(1008));
        assert_eq!(close(JoinError::RoomFull(2)), Some(1013));
        assert_eq!(close(JoinError::ShuttingDown), Some(1001));
    }
}
