//! What nodes send each other about a room, in postcard. Client frames travel inside as
//! the bytes the client sent or will receive: a node never re-encodes what another encoded.
//!
//! - [`ToOwner`], on the room's `to_owner` subject: a join (answered with
//!   [`OwnerMsg::Joined`] or [`OwnerMsg::Refused`] on `from_owner`, so that the answer
//!   comes before the client's `welcome`), a leave, a command (the client's text, decoded
//!   again by the owner), a frame to relay.
//! - [`FromOwner`], on `from_owner`: one message for every node with members of the room,
//!   stamped with the owner's lease epoch; a node drops messages of an older epoch than
//!   one it has seen (fencing). Rooms without physics use the same envelope, epoch 0, on
//!   their `relay` subject.

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

use super::ConnectionId;
use super::join::{JoinError, JoinRequest};
use super::mailbox::Farewell;
use crate::ids::ClientId;
use crate::protocol::binary::QuantizedSnapshot;
use crate::protocol::{Command, Encoding};

/// A text or binary WebSocket frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireFrame {
    pub binary: bool,
    pub bytes: Vec<u8>,
}

impl WireFrame {
    pub fn of(msg: &Message) -> WireFrame {
        match msg {
            Message::Binary(b) => WireFrame {
                binary: true,
                bytes: b.to_vec(),
            },
            other => WireFrame {
                binary: false,
                bytes: other.clone().into_data().to_vec(),
            },
        }
    }

    /// The frame again; text that is not UTF-8 (never sent by a node) becomes binary.
    pub fn message(self) -> Message {
        if self.binary {
            return Message::Binary(self.bytes.into());
        }
        match String::from_utf8(self.bytes) {
            Ok(text) => Message::Text(text.into()),
            Err(e) => Message::Binary(e.into_bytes().into()),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum ToOwner {
    Join {
        node: String,
        connection: ConnectionId,
        /// What the client asked for in its URL (the owner keeps its own room name).
        join: JoinRequest,
    },
    Leave {
        connection: ConnectionId,
    },
    /// A command, decoded once by the node the client is connected to.
    Command {
        connection: ConnectionId,
        command: Command,
    },
    Relay {
        connection: ConnectionId,
        frame: WireFrame,
    },
}

/// Why an owner refused a join.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RemoteRefusal {
    RoomFull(u32),
    ShuttingDown,
    Busy,
}

impl From<JoinError> for RemoteRefusal {
    fn from(e: JoinError) -> RemoteRefusal {
        match e {
            JoinError::RoomFull(n) => RemoteRefusal::RoomFull(n),
            JoinError::ShuttingDown => RemoteRefusal::ShuttingDown,
            _ => RemoteRefusal::Busy,
        }
    }
}

impl From<RemoteRefusal> for JoinError {
    fn from(r: RemoteRefusal) -> JoinError {
        match r {
            RemoteRefusal::RoomFull(n) => JoinError::RoomFull(n),
            RemoteRefusal::ShuttingDown => JoinError::ShuttingDown,
            RemoteRefusal::Busy => JoinError::RoomBusy,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FromOwner {
    /// The lease epoch of the owner (0 in rooms without physics).
    pub epoch: u64,
    /// The node that sent it.
    pub node: String,
    pub msg: OwnerMsg,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum OwnerMsg {
    /// A join from `connection` (of the receiving node) was taken.
    Joined {
        connection: ConnectionId,
        client: ClientId,
        resumed: bool,
        /// The token that resumes this session (also in the client's `welcome`).
        token: String,
        scene: String,
    },
    Refused {
        connection: ConnectionId,
        refusal: RemoteRefusal,
    },
    /// A request came from `connection`, which is not a member (the owner dropped it when
    /// its node went silent, or a new owner has not seen it join): join again.
    NotAMember { connection: ConnectionId },
    /// To every protocol member but `except`, or only those of encoding `only`.
    Broadcast {
        frame: WireFrame,
        except: Option<ClientId>,
        only: Option<Encoding>,
    },
    /// A snapshot, to every protocol member (`to: None`) or one client; in the encodings
    /// the receiving members use (the binary one quantized: each writer takes its delta).
    Snapshot {
        to: Option<ClientId>,
        json: Option<WireFrame>,
        binary: Option<QuantizedSnapshot>,
    },
    /// To one client; `welcome` makes it a protocol member on its node.
    ToClient {
        client: ClientId,
        frame: WireFrame,
        welcome: bool,
    },
    Disconnect {
        client: ClientId,
        reason: RemoteDisconnect,
    },
    /// A relayed frame from `from`, to every member but `from` (unless it asked for echo).
    Relay { from: ClientId, frame: WireFrame },
    /// The owner saved the room and released its lease: claim it now.
    Handover,
    /// A new owner listens for the room: join it (again) now.
    Claimed,
}

/// Why an owner ends a client's connection.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum RemoteDisconnect {
    Resumed,
    RoomFailed,
}

impl RemoteDisconnect {
    pub fn of(reason: &Farewell) -> Option<RemoteDisconnect> {
        match reason {
            Farewell::Resumed => Some(RemoteDisconnect::Resumed),
            Farewell::RoomFailed => Some(RemoteDisconnect::RoomFailed),
            _ => None,
        }
    }

    pub fn reason(self) -> Farewell {
        match self {
            RemoteDisconnect::Resumed => Farewell::Resumed,
            RemoteDisconnect::RoomFailed => Farewell::RoomFailed,
        }
    }
}

pub fn encode<T: Serialize>(value: &T) -> bytes::Bytes {
    postcard::to_stdvec(value)
        .expect("cluster envelopes always serialize")
        .into()
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    postcard::from_bytes(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_envelopes_survive_the_trip() {
        for msg in [
            Message::Text("{\"type\":\"x\"}".into()),
            Message::Binary(vec![0, 159, 146, 150].into()),
        ] {
            assert_eq!(WireFrame::of(&msg).message(), msg);
        }
        let sent = FromOwner {
            epoch: 7,
            node: "a".into(),
            msg: OwnerMsg::Relay {
                from: 3,
                frame: WireFrame::of(&Message::Text("hi".into())),
            },
        };
        let back: FromOwner = decode(&encode(&sent)).unwrap();
        assert_eq!(back.epoch, 7);
        assert!(matches!(back.msg, OwnerMsg::Relay { from: 3, .. }));
        assert!(decode::<FromOwner>(b"\xff\xff").is_none());
    }
}
