//! A node's side of a physics room that another node owns. The follower holds this node's
//! members of the room: it forwards their joins, commands and frames to the owner, and
//! delivers what the owner publishes (one message per room, whatever the number of members
//! here) to those of its members it is meant for. It watches the lease: when the owner
//! hands the room over, or its lease runs out, the follower claims the room and becomes
//! its owner (`clustered.rs`); when another node becomes the owner, it joins its members
//! there again, resuming their sessions.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, info};

use super::cluster_link::publisher;
use super::envelope::{self, FromOwner, OwnerMsg, ToOwner};
use super::join::{JoinError, JoinRequest};
use super::mailbox::Farewell;
use super::mailbox::SharedMailbox;
use super::relayed::RelayedFrame;
use super::snapshot_frame::SnapshotFrame;
use super::{ConnectionId, Host};
use super::{Joined, Link, RoomInfo, RoomRequest};
use crate::cluster::{Cluster, Lease, RoomSubjects};
use crate::ids::ClientId;
use crate::protocol::binary::{Params, SnapshotFrames};
use crate::telemetry;

/// How long a join may wait for the owner's answer before the lease is looked at again
/// and the join sent again.
const JOIN_RETRY: Duration = Duration::from_millis(500);

/// An owner with members here publishes at least a snapshot a second; silent for longer,
/// it may be gone, and the lease is looked at every [`SILENT_POLL`] instead of every half
/// `--lease-ttl`, so that the room is claimed soon after the lease expires.
const SILENCE: Duration = Duration::from_millis(1200);
const SILENT_POLL: Duration = Duration::from_millis(200);

/// One of this node's members of the room.
pub(super) struct LocalMember {
    /// Its client id in the room, once the owner took it.
    pub client: Option<ClientId>,
    pub mailbox: SharedMailbox,
    /// What it asked for; `resume` holds its session's latest token, `protocol` whether
    /// it is a protocol member, so that it can join a new owner as it was.
    pub request: JoinRequest,
    /// Its connection waits for the first answer.
    pub accepted: Option<oneshot::Sender<Result<Joined, JoinError>>>,
    /// When its join was last sent, while unanswered.
    asked: Option<Instant>,
    /// The lease epoch of the owner that took it.
    epoch: u64,
}

/// Why a follower stopped.
pub(super) enum FollowEnd {
    /// The room is ours now; these members join it.
    Claimed {
        lease: Lease,
        members: Vec<(ConnectionId, LocalMember)>,
    },
    /// No member left for the room's linger time, or the server shuts down.
    Closed,
}

pub(super) struct Follower {
    pub host: Arc<Host>,
    pub cluster: Arc<Cluster>,
    pub name: String,
    pub id: u64,
    /// The scene a room this node claims starts with, if nothing was saved.
    pub scene: String,
    pub info: Arc<RoomInfo>,
    pub members: HashMap<ConnectionId, LocalMember>,
    clients: HashMap<ClientId, ConnectionId>,
    /// The highest lease epoch heard of; older owners are not listened to.
    epoch: u64,
    params: Option<Arc<Params>>,
    subjects: RoomSubjects,
    outgoing: mpsc::Sender<(String, Bytes)>,
}

impl Follower {
    pub fn new(
        host: &Arc<Host>,
        cluster: &Arc<Cluster>,
        name: &str,
        id: u64,
        scene: &str,
        info: Arc<RoomInfo>,
    ) -> Follower {
        Follower {
            host: host.clone(),
            cluster: cluster.clone(),
            name: name.to_owned(),
            id,
            scene: scene.to_owned(),
            info,
            members: HashMap::new(),
            clients: HashMap::new(),
            epoch: 0,
            params: None,
            subjects: RoomSubjects::new(name),
            outgoing: publisher(cluster, host.queues.publish),
        }
    }

    pub async fn run(mut self, requests: &mut mpsc::Receiver<RoomRequest>) -> FollowEnd {
        let mut owner = match self
            .cluster
            .client()
            .subscribe(self.subjects.from_owner.clone())
            .await
        {
            Ok(sub) => sub,
            Err(e) => {
                debug!(error = %e, "cannot follow the room");
                return FollowEnd::Closed;
            }
        };
        let poll = self.cluster.lease_ttl / 2;
        let linger = self.host.config.room_linger;
        let shutdown = self.host.shutdown.clone();
        let mut check = Instant::now();
        let mut heard = Instant::now();
        let mut empty_since = None;
        loop {
            let linger_deadline = empty_since.map(|t: Instant| t + linger);
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return FollowEnd::Closed,
                msg = owner.next() => match msg {
                    Some(msg) => {
                        heard = Instant::now();
                        if self.owner_said(&msg.payload) {
                            check = Instant::now();
                        }
                    }
                    None => return FollowEnd::Closed,
                },
                request = requests.recv() => match request {
                    Some(request) => self.request(request),
                    None => return FollowEnd::Closed,
                },
                _ = sleep_until(check) => {
                    let silent = heard.elapsed() > SILENCE && !self.members.is_empty();
                    check = Instant::now() + if silent { SILENT_POLL } else { poll };
                    if let Some(lease) = self.look_at_lease().await {
                        return FollowEnd::Claimed {
                            lease,
                            members: self.members.drain().collect(),
                        };
                    }
                    if self.resend_unanswered() {
                        check = check.min(Instant::now() + JOIN_RETRY);
                    }
                }
                _ = sleep_until(linger_deadline.unwrap_or_else(Instant::now)), if linger_deadline.is_some() => {
                    if self.host.rooms.retire_room(&self.name, self.id, || requests.is_empty()) {
                        return FollowEnd::Closed;
                    }
                    empty_since = None;
                }
            }
            self.info
                .clients
                .store(self.members.len(), Ordering::Relaxed);
            empty_since = super::membership::empty_since(self.members.is_empty(), empty_since);
        }
    }

    /// Who holds the room: nobody (claim it), a newer owner (join it), or the one we know.
    async fn look_at_lease(&mut self) -> Option<Lease> {
        // Twice at most: a claim lost to a faster node is followed by a look at the winner.
        for _ in 0..2 {
            match self.cluster.holder(&self.name).await {
                Ok(None) => match self.cluster.claim(&self.name, &self.scene).await {
                    Ok(Some(lease)) => return Some(lease),
                    Ok(None) => continue,
                    Err(e) => debug!(error = %e, "claim failed"),
                },
                Ok(Some(holder)) if holder.epoch > self.epoch => {
                    info!(owner = %holder.node, epoch = holder.epoch, "room owned by another node");
                    self.epoch = holder.epoch;
                    self.rejoin_older();
                    self.resend_waiting();
                }
                Ok(Some(_)) => {}
                Err(e) => debug!(error = %e, "lease not readable"),
            }
            break;
        }
        None
    }

    fn request(&mut self, request: RoomRequest) {
        match request {
            RoomRequest::Join(ask) => {
                let Link::Local(mailbox) = ask.link else {
                    return;
                };
                let member = LocalMember {
                    client: None,
                    mailbox,
                    request: ask.request,
                    accepted: Some(ask.accepted),
                    asked: None,
                    epoch: 0,
                };
                self.members.insert(ask.connection, member);
                self.send_join(ask.connection);
            }
            RoomRequest::Leave { connection } => {
                if let Some(m) = self.members.remove(&connection)
                    && let Some(client) = m.client
                {
                    self.clients.remove(&client);
                    self.to_owner(&ToOwner::Leave { connection });
                }
            }
            RoomRequest::Command {
                connection,
                command,
            } => {
                if self
                    .members
                    .get(&connection)
                    .is_some_and(|m| m.client.is_some())
                {
                    self.to_owner(&ToOwner::Command {
                        connection,
                        command,
                    });
                }
            }
            RoomRequest::Relay { connection, frame } => {
                if self
                    .members
                    .get(&connection)
                    .is_some_and(|m| m.client.is_some())
                {
                    let frame = envelope::WireFrame::of(&frame);
                    self.to_owner(&ToOwner::Relay { connection, frame });
                }
            }
        }
    }

    fn send_join(&mut self, connection: ConnectionId) {
        let Some(m) = self.members.get_mut(&connection) else {
            return;
        };
        m.asked = Some(Instant::now());
        let join = ToOwner::Join {
            node: self.cluster.node.clone(),
            connection,
            join: m.request.clone(),
        };
        self.to_owner(&join);
    }

    /// Members taken by an older owner join the current one again, as they were (it
    /// restored the room, and their sessions with it).
    fn rejoin_older(&mut self) {
        let epoch = self.epoch;
        let connections: Vec<_> = self
            .members
            .iter()
            .filter(|(_, m)| m.client.is_some() && m.epoch < epoch)
            .map(|(&c, _)| c)
            .collect();
        for connection in connections {
            self.send_join(connection);
        }
    }

    /// Every join still unanswered, sent again now.
    fn resend_waiting(&mut self) {
        let waiting: Vec<_> = self
            .members
            .iter()
            .filter(|(_, m)| m.asked.is_some())
            .map(|(&c, _)| c)
            .collect();
        for connection in waiting {
            self.send_join(connection);
        }
    }

    /// Joins the owner has not answered for a while: sent again. Whether any is waiting.
    fn resend_unanswered(&mut self) -> bool {
        let late: Vec<_> = self
            .members
            .iter()
            .filter(|(_, m)| m.asked.is_some_and(|t| t.elapsed() >= JOIN_RETRY))
            .map(|(&c, _)| c)
            .collect();
        for &connection in &late {
            self.send_join(connection);
        }
        self.members.values().any(|m| m.asked.is_some())
    }

    fn to_owner(&self, request: &ToOwner) {
        let bytes = envelope::encode(request);
        if self
            .outgoing
            .try_send((self.subjects.to_owner.clone(), bytes))
            .is_err()
        {
            metrics::counter!(telemetry::CLUSTER_DROPPED, "reason" => "queue_full").increment(1);
        }
        metrics::counter!(telemetry::CLUSTER_FORWARDED, "direction" => "to_owner").increment(1);
    }

    /// A message from the owner. Whether the lease should be looked at now.
    fn owner_said(&mut self, payload: &[u8]) -> bool {
        let Some(FromOwner { epoch, msg, .. }) = envelope::decode::<FromOwner>(payload) else {
            debug!("undecodable message from the owner");
            return false;
        };
        if epoch < self.epoch {
            metrics::counter!(telemetry::CLUSTER_DROPPED, "reason" => "old_epoch").increment(1);
            return false;
        }
        let bumped = epoch > self.epoch;
        if bumped {
            if matches!(msg, OwnerMsg::Handover) {
                return true;
            }
            // A new owner speaks: our members join it as they were.
            self.epoch = epoch;
            self.rejoin_older();
        }
        match msg {
            OwnerMsg::Handover => return true,
            OwnerMsg::Claimed => {
                // Joins sent before it listened are lost: send them again now (an owner
                // answers a join it already took with the same answer).
                self.resend_waiting();
                if !bumped {
                    self.rejoin_older();
                }
            }
            OwnerMsg::NotAMember { connection } => {
                if self
                    .members
                    .get(&connection)
                    .is_some_and(|m| m.asked.is_none())
                {
                    self.send_join(connection);
                }
            }
            OwnerMsg::Joined {
                connection,
                client,
                resumed,
                token,
                scene,
            } => self.joined(connection, client, resumed, token, &scene),
            OwnerMsg::Refused {
                connection,
                refusal,
            } => {
                if let Some(mut m) = self.members.remove(&connection) {
                    let refused = JoinError::from(refusal);
                    match m.accepted.take() {
                        Some(accepted) => {
                            let _ = accepted.send(Err(refused));
                        }
                        None => m.mailbox.close(Farewell::JoinRefused(refused)),
                    }
                    if let Some(client) = m.client {
                        self.clients.remove(&client);
                    }
                }
            }
            OwnerMsg::Broadcast {
                frame,
                except,
                only,
            } => {
                let frame = frame.message();
                for m in self.members.values() {
                    if m.request.protocol
                        && m.client.is_some()
                        && m.client != except
                        && only.is_none_or(|e| e == m.request.encoding)
                    {
                        m.mailbox.send(frame.clone());
                    }
                }
            }
            OwnerMsg::Snapshot { to, json, binary } => {
                let json = json.map(|f| SnapshotFrame::Json(f.message()));
                let binary = match (binary, &self.params) {
                    (Some(q), Some(params)) => Some(SnapshotFrame::Binary(Arc::new(
                        SnapshotFrames::new(params.clone(), q),
                    ))),
                    _ => None,
                };
                for m in self.members.values() {
                    let wanted = match to {
                        Some(client) => m.client == Some(client),
                        None => m.request.protocol && m.client.is_some(),
                    };
                    let frame = match m.request.encoding {
                        crate::protocol::Encoding::Json => &json,
                        crate::protocol::Encoding::Binary => &binary,
                    };
                    if wanted && let Some(frame) = frame {
                        m.mailbox.send_snapshot(frame.clone());
                    }
                }
            }
            OwnerMsg::ToClient {
                client,
                frame,
                welcome,
            } => {
                if let Some(m) = self.member_mut(client) {
                    if welcome {
                        m.request.protocol = true;
                    }
                    m.mailbox.send(frame.message());
                }
            }
            OwnerMsg::Disconnect { client, reason } => {
                if let Some(m) = self.member_mut(client) {
                    m.mailbox.close(reason.reason());
                }
            }
            OwnerMsg::Relay { from, frame } => {
                let frame = RelayedFrame::new(frame.message());
                for m in self.members.values() {
                    if m.client.is_some() && (m.client != Some(from) || m.request.echo) {
                        m.mailbox
                            .send(frame.to(m.request.protocol, m.request.encoding));
                    }
                }
            }
        }
        false
    }

    fn joined(
        &mut self,
        connection: ConnectionId,
        client: ClientId,
        resumed: bool,
        token: String,
        scene: &str,
    ) {
        let Some(m) = self.members.get_mut(&connection) else {
            return;
        };
        if self.params.is_none()
            && let Some(scene) = self.host.scenes.get(scene)
        {
            self.params = Some(Arc::new(Params::for_scene(
                &scene,
                self.host.config.tick_rate,
            )));
        }
        if let Some(old) = m.client.replace(client) {
            self.clients.remove(&old);
        }
        self.clients.insert(client, connection);
        m.request.resume = Some(token);
        m.asked = None;
        m.epoch = self.epoch;
        if let Some(accepted) = m.accepted.take() {
            let _ = accepted.send(Ok(Joined { client, resumed }));
        }
    }

    fn member_mut(&mut self, client: ClientId) -> Option<&mut LocalMember> {
        let connection = self.clients.get(&client)?;
        self.members.get_mut(connection)
    }
}
