//! The owner's side of a clustered room: members connected through other nodes, their
//! requests, and one message per room for every node (never one per remote client), plus
//! the owner's duties: saving the room every `--persist-interval`, dropping the members of
//! a node that went silent, and giving the room up when the lease is lost.

use tokio::sync::oneshot;
use tracing::{debug, info};

use super::envelope::{self, FromOwner, OwnerMsg, ToOwner, WireFrame};
use super::join::JoinRequest;
use super::peers::Peers;
use super::relayed::RelayedFrame;
use super::snapshot_frame::SnapshotFrame;
use super::{JoinAsk, Link, LocalRoom, RoomRequest};
use crate::ids::ClientId;

impl LocalRoom {
    fn has_remote_members(&self) -> bool {
        self.members
            .values()
            .any(|m| matches!(m.link, Link::Remote { .. }))
    }

    /// Publish for the other nodes, if any needs it: in a room without physics every node
    /// may have members; in an owned room, only if some member is remote.
    pub(super) fn to_other_nodes(&self, msg: impl FnOnce() -> OwnerMsg) {
        match &self.peers {
            Peers::Alone => {}
            Peers::Unowned(link) => link.publish(msg()),
            Peers::Owner(owner) => {
                if self.has_remote_members() {
                    owner.link.publish(msg());
                }
            }
        }
    }

    pub(super) fn publish_remote(&self, msg: OwnerMsg) {
        self.peers.publish(msg);
    }

    /// A snapshot for remote members, in the encodings they use.
    pub(super) fn publish_snapshots(
        &self,
        to: Option<ClientId>,
        json: Option<&SnapshotFrame>,
        binary: Option<&SnapshotFrame>,
    ) {
        let json = match json {
            Some(SnapshotFrame::Json(msg)) => Some(WireFrame::of(msg)),
            _ => None,
        };
        let binary = match binary {
            Some(SnapshotFrame::Binary(frames)) => Some((**frames.current()).clone()),
            _ => None,
        };
        self.publish_remote(OwnerMsg::Snapshot { to, json, binary });
    }

    pub(super) fn publish_snapshot(&self, to: Option<ClientId>, frame: &SnapshotFrame) {
        match frame {
            SnapshotFrame::Json(_) => self.publish_snapshots(to, Some(frame), None),
            SnapshotFrame::Binary(_) => self.publish_snapshots(to, None, Some(frame)),
        }
    }

    /// A message on the room's inbound subject: another node's request (owner), or
    /// another node's frames for our members (room without physics).
    pub(super) fn remote(&mut self, inbound: async_nats::Message) {
        match &self.peers {
            Peers::Alone => return,
            Peers::Unowned(link) => {
                match envelope::decode::<FromOwner>(&inbound.payload) {
                    Some(env) if env.node != link.cluster.node => self.deliver_peer(env.msg),
                    Some(_) => {}
                    None => debug!("undecodable relay envelope"),
                }
                return;
            }
            Peers::Owner(_) => {}
        }
        let Some(request) = envelope::decode::<ToOwner>(&inbound.payload) else {
            debug!("undecodable request from another node");
            return;
        };
        match request {
            ToOwner::Join {
                node,
                connection,
                join,
            } => {
                // A join sent again (its answer was late): the same answer again.
                if let Some(&client) = self.connections.get(&connection) {
                    let token = self.members[&client].resume.clone();
                    self.publish_remote(OwnerMsg::Joined {
                        connection,
                        client,
                        resumed: false,
                        token,
                        scene: self.room.scene().name.clone(),
                    });
                    return;
                }
                let (accepted, mut answer) = oneshot::channel();
                self.join(JoinAsk {
                    connection,
                    link: Link::Remote { node },
                    request: JoinRequest {
                        room: self.name.clone(),
                        ..join
                    },
                    accepted,
                });
                // A taken join was answered (`OwnerMsg::Joined`) before the welcome.
                if let Ok(Err(refused)) = answer.try_recv() {
                    self.publish_remote(OwnerMsg::Refused {
                        connection,
                        refusal: refused.into(),
                    });
                }
            }
            ToOwner::Leave { connection } => self.leave(connection),
            ToOwner::Command { connection, .. } | ToOwner::Relay { connection, .. }
                if !self.connections.contains_key(&connection) =>
            {
                self.publish_remote(OwnerMsg::NotAMember { connection });
            }
            ToOwner::Command {
                connection,
                command,
            } => self.handle(RoomRequest::Command {
                connection,
                command,
            }),
            ToOwner::Relay { connection, frame } => self.handle(RoomRequest::Relay {
                connection,
                frame: frame.message(),
            }),
        }
    }

    /// Another node's broadcast or relayed frame, in a room without physics.
    fn deliver_peer(&self, msg: OwnerMsg) {
        let relayed = match &msg {
            OwnerMsg::Relay { frame, .. } => Some(RelayedFrame::new(frame.clone().message())),
            _ => None,
        };
        for (&id, m) in &self.members {
            let Link::Local(mailbox) = &m.link else {
                continue;
            };
            match &msg {
                OwnerMsg::Relay { .. } => {
                    if let Some(frame) = &relayed {
                        mailbox.send(frame.to(m.protocol, m.encoding));
                    }
                }
                OwnerMsg::Broadcast {
                    frame,
                    except,
                    only,
                } if m.protocol && *except != Some(id) && only.is_none_or(|e| e == m.encoding) => {
                    mailbox.send(frame.clone().message());
                }
                _ => {}
            }
        }
    }

    /// A node went silent: its members leave, as on a dropped connection.
    pub(super) fn node_gone(&mut self, node: &str) {
        let gone: Vec<_> = self
            .members
            .values()
            .filter(|m| matches!(&m.link, Link::Remote { node: n } if n == node))
            .map(|m| m.connection)
            .collect();
        if !gone.is_empty() {
            info!(node, members = gone.len(), "node gone; its members leave");
        }
        for connection in gone {
            self.leave(connection);
        }
    }
}
