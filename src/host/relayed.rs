//! A relayed frame as each member receives it: the sender's frame verbatim, except a
//! binary frame to a `ballroom.v2` protocol member, which gets it behind the relayed tag
//! ([`binary::frame`]) so it can never be taken for a snapshot. Every path that delivers
//! a relayed frame (the owner, a follower, a peer's frame in a room without physics) asks
//! this type, and the tagged copy is made once per frame.

use std::sync::OnceLock;

use tokio_tungstenite::tungstenite::Message;

use crate::protocol::Encoding;
use crate::protocol::binary;

pub(super) struct RelayedFrame {
    verbatim: Message,
    tagged: OnceLock<Message>,
}

impl RelayedFrame {
    pub(super) fn new(verbatim: Message) -> RelayedFrame {
        RelayedFrame {
            verbatim,
            tagged: OnceLock::new(),
        }
    }

    /// The frame for a member: `protocol` once its `welcome` was sent, and its `encoding`.
    pub(super) fn to(&self, protocol: bool, encoding: Encoding) -> Message {
        match &self.verbatim {
            Message::Binary(bytes) if protocol && encoding == Encoding::Binary => self
                .tagged
                .get_or_init(|| Message::Binary(binary::frame::relayed(bytes)))
                .clone(),
            other => other.clone(),
        }
    }

    pub(super) fn verbatim(&self) -> &Message {
        &self.verbatim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_binary_frames_to_v2_members_are_tagged() {
        let bin = RelayedFrame::new(Message::binary(vec![0x10, 0x01]));
        assert_eq!(
            bin.to(true, Encoding::Binary),
            Message::binary(vec![0x00, 0x10, 0x01])
        );
        assert_eq!(
            bin.to(false, Encoding::Binary),
            Message::binary(vec![0x10, 0x01])
        );
        assert_eq!(
            bin.to(true, Encoding::Json),
            Message::binary(vec![0x10, 0x01])
        );
        let text = RelayedFrame::new(Message::text("{}"));
        assert_eq!(text.to(true, Encoding::Binary), Message::text("{}"));
    }
}
