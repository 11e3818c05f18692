//! What goes to the members: each message encoded once, handed to the outboxes of this
//! node's members, and published once for the other nodes when some member is remote.

use std::sync::Arc;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::envelope::{OwnerMsg, RemoteDisconnect, WireFrame};
use super::mailbox::Farewell;
use super::mailbox::frame;
use super::relayed::RelayedFrame;
use super::snapshot_frame::SnapshotFrame;
use super::{Link, LocalRoom};
use crate::ids::ClientId;
use crate::protocol::binary::{Quantizer, SnapshotFrames};
use crate::protocol::{Encoding, ServerMsg, WireError};
use crate::room::{Announcement, Effects, Snapshot};
use crate::telemetry;

impl LocalRoom {
    /// The current snapshot, to one member.
    pub(super) fn snapshot_to(&mut self, client: ClientId) {
        let Some(m) = self.members.get(&client) else {
            return;
        };
        let snapshot = self.room.snapshot();
        let frame = SnapshotEncodings::new(&mut self.quantizer, &snapshot).get(m.encoding);
        match &m.link {
            Link::Local(mailbox) => mailbox.send_snapshot(frame),
            Link::Remote { .. } => self.publish_snapshot(Some(client), &frame),
        }
    }

    /// Tell the members what the room did: each announcement in order, each encoded
    /// once, then the snapshot.
    pub(super) fn publish(&mut self, effects: Effects) {
        if !effects.rules_failures.is_empty() {
            self.rules_failed(&effects.rules_failures);
        }
        let tick = self.room.tick_count();
        for announcement in &effects.announcements {
            let (msg, except, only) = match announcement {
                Announcement::RulesMessage {
                    to: Some(client),
                    name,
                    data,
                } => {
                    if self.members.get(client).is_some_and(|m| m.protocol) {
                        self.send_to(*client, frame(&ServerMsg::Message { name, data }));
                    }
                    continue;
                }
                Announcement::RulesMessage {
                    to: None,
                    name,
                    data,
                } => (ServerMsg::Message { name, data }, None, None),
                Announcement::RulesState(state) => {
                    (ServerMsg::RulesState { state, tick }, None, None)
                }
                Announcement::RulesResult(result) => {
                    (ServerMsg::RulesResult { result, tick }, None, None)
                }
                Announcement::Kick(k) => (ServerMsg::Kick(k), None, None),
                // Binary clients read every pose from the snapshots.
                Announcement::Pose(p) => {
                    (ServerMsg::Player(p), Some(p.client), Some(Encoding::Json))
                }
            };
            self.to_protocol_members(&frame(&msg), except, only);
        }
        if let Some(snapshot) = &effects.snapshot {
            self.broadcast_snapshot(snapshot);
        }
    }

    /// Encode once per encoding; every protocol member of an encoding gets the same bytes.
    pub(super) fn broadcast_snapshot(&mut self, snapshot: &Snapshot) {
        let started = Instant::now();
        let mut frames = SnapshotEncodings::new(&mut self.quantizer, snapshot);
        let (mut json, mut binary) = (false, false);
        for m in self.members.values().filter(|m| m.protocol) {
            match &m.link {
                Link::Local(mailbox) => mailbox.send_snapshot(frames.get(m.encoding)),
                Link::Remote { .. } => match m.encoding {
                    Encoding::Json => json = true,
                    Encoding::Binary => binary = true,
                },
            }
        }
        if json || binary {
            let json = json.then(|| frames.get(Encoding::Json));
            let binary = binary.then(|| frames.get(Encoding::Binary));
            self.publish_snapshots(None, json.as_ref(), binary.as_ref());
        }
        telemetry::hot().fanout.record(started.elapsed());
    }

    /// `msg` to every protocol member but `except`, or only to those of encoding `only`.
    pub(super) fn to_protocol_members(
        &self,
        msg: &Message,
        except: Option<ClientId>,
        only: Option<Encoding>,
    ) {
        for (&id, m) in &self.members {
            if let Link::Local(mailbox) = &m.link
                && m.protocol
                && Some(id) != except
                && only.is_none_or(|e| e == m.encoding)
            {
                mailbox.send(msg.clone());
            }
        }
        self.to_other_nodes(|| OwnerMsg::Broadcast {
            frame: WireFrame::of(msg),
            except,
            only,
        });
    }

    /// A relayed frame from `from` to every member but `from` (unless it asked for echo).
    /// Binary frames reach `ballroom.v2` members tagged as relayed ([`RelayedFrame`]).
    pub(super) fn relay(&self, from: ClientId, frame: Message) {
        let frame = RelayedFrame::new(frame);
        for (&id, m) in &self.members {
            if let Link::Local(mailbox) = &m.link
                && (id != from || m.echo)
            {
                mailbox.send(frame.to(m.protocol, m.encoding));
            }
        }
        self.to_other_nodes(|| OwnerMsg::Relay {
            from,
            frame: WireFrame::of(frame.verbatim()),
        });
    }

    pub(super) fn send_to(&self, client: ClientId, msg: Message) {
        self.unicast(client, msg, false);
    }

    /// The `welcome` that makes `client` a protocol member.
    pub(super) fn send_welcome(&self, client: ClientId, msg: Message) {
        self.unicast(client, msg, true);
    }

    pub(super) fn unicast(&self, client: ClientId, msg: Message, welcome: bool) {
        match self.members.get(&client).map(|m| &m.link) {
            Some(Link::Local(mailbox)) => {
                mailbox.send(msg);
            }
            Some(Link::Remote { .. }) => self.publish_remote(OwnerMsg::ToClient {
                client,
                frame: WireFrame::of(&msg),
                welcome,
            }),
            None => {}
        }
    }

    /// Answer `client`'s refused command (counted by its code).
    pub(super) fn reject(&self, client: ClientId, refusal: &impl WireError, seq: Option<u64>) {
        if self.members.contains_key(&client) {
            self.send_to(client, super::mailbox::refusal(refusal, seq));
        }
    }

    /// End a member's connection, wherever it is.
    pub(super) fn disconnect(&self, client: ClientId, link: &Link, reason: Farewell) {
        match link {
            Link::Local(mailbox) => mailbox.close(reason),
            Link::Remote { .. } => {
                if let Some(reason) = RemoteDisconnect::of(&reason) {
                    self.publish_remote(OwnerMsg::Disconnect { client, reason });
                }
            }
        }
    }
}

/// One snapshot's frames, made on first need: the JSON text once, the quantized state
/// once (each binary client's writer then takes its delta from it).
pub(super) struct SnapshotEncodings<'a> {
    quantizer: &'a mut Quantizer,
    snapshot: &'a Snapshot,
    json: Option<SnapshotFrame>,
    binary: Option<SnapshotFrame>,
}

impl<'a> SnapshotEncodings<'a> {
    pub(super) fn new(
        quantizer: &'a mut Quantizer,
        snapshot: &'a Snapshot,
    ) -> SnapshotEncodings<'a> {
        SnapshotEncodings {
            quantizer,
            snapshot,
            json: None,
            binary: None,
        }
    }

    pub(super) fn get(&mut self, encoding: Encoding) -> SnapshotFrame {
        let (quantizer, snapshot) = (&mut *self.quantizer, self.snapshot);
        match encoding {
            Encoding::Json => self
                .json
                .get_or_insert_with(|| SnapshotFrame::Json(frame(&ServerMsg::Snapshot(snapshot))))
                .clone(),
            Encoding::Binary => self
                .binary
                .get_or_insert_with(|| {
                    let quantized = quantizer
                        .quantize(snapshot)
                        .expect("a room's snapshots hold its scene's balls");
                    let params = quantizer.params().clone();
                    SnapshotFrame::Binary(Arc::new(SnapshotFrames::new(params, quantized)))
                })
                .clone(),
        }
    }
}
