//! Who is in a room: joining (fresh, or resuming an earlier session by its token),
//! promotion to protocol client with its `welcome`, spectators, and leaving (which keeps
//! the session resumable for `--room-linger`).

use std::collections::HashMap;

use base64::Engine;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::debug;

use super::ConnectionId;
use super::LocalRoom;
use super::envelope::OwnerMsg;
use super::join::{JoinError, JoinRequest};
use super::mailbox::Farewell;
use super::mailbox::SharedMailbox;
use super::mailbox::frame;
use crate::ids::ClientId;
use crate::persist::{SavedSession, now_ms};
use crate::protocol::{Encoding, ServerMsg, Welcome};
use crate::room::{ClientSession, Input};

/// Where a member's messages go.
#[derive(Clone)]
pub enum Link {
    /// A connection of this node.
    Local(SharedMailbox),
    /// A connection of another node of the cluster, which delivers what the owner
    /// publishes for the room.
    Remote { node: String },
}

/// One member of the room.
pub(super) struct Member {
    pub connection: ConnectionId,
    pub link: Link,
    /// Receives server messages (it opted in, or sent a command).
    pub protocol: bool,
    /// Receives its own relayed messages back.
    pub echo: bool,
    /// The authenticated player id, if any.
    pub player: Option<String>,
    /// Watches only: cannot kick, move or join a team; not listed as a player.
    pub spectator: bool,
    /// The token that resumes this session on a new connection.
    pub resume: String,
    /// How it receives snapshots.
    pub encoding: Encoding,
    /// This connection resumed an earlier session (said in its `welcome`).
    pub resumed: bool,
}

/// A session whose connection ended, resumable until `until`.
pub struct Departed {
    client: ClientId,
    player: Option<String>,
    spectator: bool,
    session: ClientSession,
    until: Instant,
}

/// A join request as the room task sees it.
pub struct JoinAsk {
    pub connection: ConnectionId,
    pub link: Link,
    /// What the client asked for in its URL: protocol, echo, encoding, spectating, the
    /// session to resume, and its authenticated player.
    pub request: JoinRequest,
    /// Answered once the client is a member, or with why it cannot be.
    pub accepted: oneshot::Sender<Result<Joined, JoinError>>,
}

/// A connection's place in its room.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Joined {
    /// The client id it has in the room: its own, or the resumed session's.
    pub client: ClientId,
    pub resumed: bool,
}

/// An unguessable session token: 128 random bits, base64url.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How a join relates to earlier sessions.
enum Resumption {
    Fresh,
    /// The session's connection is still open: it is closed and the new one takes over
    /// the client as it is.
    TakeOver(ClientId),
    /// The session's connection ended: the room gets its state back.
    Restore(ClientId, ClientSession),
}

impl LocalRoom {
    /// The room's cap: `--max-clients-per-room`, or the scene's `max_clients` if lower.
    fn max_clients(&self) -> u32 {
        let flag = self.host.config.max_clients_per_room;
        self.room.scene().max_clients.map_or(flag, |m| m.min(flag))
    }

    pub(super) fn join(&mut self, ask: JoinAsk) {
        let resumption = self.resumption(&ask);
        let max = self.max_clients();
        if !matches!(resumption, Resumption::TakeOver(_)) && self.members.len() >= max as usize {
            let _ = ask.accepted.send(Err(JoinError::RoomFull(max)));
            return;
        }
        let taken_over = matches!(resumption, Resumption::TakeOver(_));
        let (client, restore) = match resumption {
            Resumption::Fresh => (ask.connection, None),
            Resumption::TakeOver(client) => {
                if let Some(old) = self.members.remove(&client) {
                    self.connections.remove(&old.connection);
                    self.disconnect(client, &old.link, Farewell::Resumed);
                }
                (client, None)
            }
            Resumption::Restore(client, session) => (client, Some(session)),
        };
        // A session restored on its own connection (a room taken over by this node after
        // its owner failed) is resumed too.
        let resumed = client != ask.connection || restore.is_some();
        let joined = Joined { client, resumed };
        if ask.accepted.send(Ok(joined)).is_err() {
            return; // the connection gave up while queued
        }
        let member = Member {
            connection: ask.connection,
            link: ask.link,
            protocol: false,
            echo: ask.request.echo,
            player: ask.request.player,
            spectator: ask.request.spectate,
            resume: new_token(),
            resumed,
            encoding: ask.request.encoding,
        };
        let spectator = member.spectator;
        if let Link::Remote { .. } = &member.link {
            // Its node learns the client id before the welcome.
            self.publish_remote(OwnerMsg::Joined {
                connection: ask.connection,
                client,
                resumed,
                token: member.resume.clone(),
                scene: self.room.scene().name.clone(),
            });
        }
        self.members.insert(client, member);
        self.connections.insert(ask.connection, client);
        self.count_clients();
        debug!(client, resumed, spectator, "joined");
        if !spectator {
            let joined = frame(&ServerMsg::Joined { client });
            self.to_protocol_members(&joined, Some(client), None);
        }
        // Restored before the client's own welcome, which then shows it as it was; the
        // others hear of its team and pose after its `joined`.
        if let Some(session) = restore {
            match self.room.apply(client, Input::Resume(session)) {
                Ok(effects) => self.publish(effects),
                Err(refusal) => debug!(client, %refusal, "session not fully restored"),
            }
        }
        // The room's rules hear of every member but one that only changed connection.
        if !taken_over {
            match self.room.apply(client, Input::Join { spectator }) {
                Ok(effects) => self.publish(effects),
                Err(refusal) => debug!(client, %refusal, "join not heard by the rules"),
            }
        }
        if ask.request.protocol {
            self.promote(client);
        }
    }

    /// Whether `ask` resumes a session: its token must name one that is still resumable
    /// and belongs to the same authenticated player (if any). Anything else is a fresh
    /// session, never an error.
    fn resumption(&mut self, ask: &JoinAsk) -> Resumption {
        let Some(token) = &ask.request.resume else {
            return Resumption::Fresh;
        };
        let open = self
            .members
            .iter()
            .find(|(_, m)| &m.resume == token)
            .map(|(&client, m)| {
                (
                    client,
                    m.player == ask.request.player,
                    m.spectator == ask.request.spectate,
                )
            });
        if let Some((client, same_player, same_role)) = open {
            return if same_player && same_role {
                Resumption::TakeOver(client)
            } else {
                Resumption::Fresh
            };
        }
        // Someone else's session (or an expired one) is left where it is: `leave` prunes
        // the expired ones.
        let now = Instant::now();
        let resumable = self.departed.get(token).is_some_and(|d| {
            d.until > now && d.player == ask.request.player && d.spectator == ask.request.spectate
        });
        match resumable.then(|| self.departed.remove(token)).flatten() {
            Some(d) => Resumption::Restore(d.client, d.session),
            None => Resumption::Fresh,
        }
    }

    /// The connection ended: the client leaves the room, and its session stays resumable
    /// for `--room-linger`.
    pub(super) fn leave(&mut self, connection: ConnectionId) {
        let Some(client) = self.connections.remove(&connection) else {
            return; // taken over by a resumed connection, or never joined
        };
        let Some(member) = self.members.remove(&client) else {
            return;
        };
        self.count_clients();
        debug!(client, "left");
        // Expired sessions go as new ones come, so the table holds at most the sessions
        // that ended within the last `--room-linger`.
        let now = Instant::now();
        self.departed.retain(|_, d| d.until > now);
        let departed = Departed {
            client,
            player: member.player,
            spectator: member.spectator,
            session: self.room.session(client),
            until: now + self.host.config.room_linger,
        };
        self.departed.insert(member.resume, departed);
        if !member.spectator {
            let left = frame(&ServerMsg::Left { client });
            self.to_protocol_members(&left, None, None);
        }
        // A leaver can pause, forfeit or reset the match: say so now.
        match self.room.apply(client, Input::Leave) {
            Ok(effects) => self.publish(effects),
            Err(refusal) => debug!(client, %refusal, "leave refused"),
        }
    }

    /// Make `client` a protocol member: it gets `welcome` and the current snapshot.
    pub(super) fn promote(&mut self, client: ClientId) {
        let Some(member) = self.members.get_mut(&client) else {
            return;
        };
        if member.protocol {
            return;
        }
        member.protocol = true;
        let member = &self.members[&client];
        let config = &self.host.config;
        let rules_state = self.room.rules_state();
        let welcome = frame(&ServerMsg::Welcome(Welcome {
            client,
            room: &self.name,
            tick: self.room.tick_count(),
            time: self.clock(),
            tick_rate: config.tick_rate,
            snapshot_rate: config.sim().snapshot_rate,
            echo: member.echo,
            clients: self.players(),
            scene: self.room.scene(),
            player: member.player.as_deref(),
            resume: &member.resume,
            resumed: member.resumed,
            spectator: member.spectator,
            encoding: member.encoding,
            binary: (member.encoding == Encoding::Binary).then_some(&**self.quantizer.params()),
            rules_state: rules_state.as_deref(),
        }));
        self.send_welcome(client, welcome);
        if self.room.needs_ticks() {
            self.snapshot_to(client);
        }
    }

    /// The members that are not spectators, ascending.
    fn players(&self) -> Vec<ClientId> {
        self.members
            .iter()
            .filter(|(_, m)| !m.spectator)
            .map(|(&client, _)| client)
            .collect()
    }

    fn count_clients(&self) {
        let clients = self.members.len();
        self.info
            .clients
            .store(clients, std::sync::atomic::Ordering::Relaxed);
        if let Some(figures) = self.peers.lease_figures() {
            figures
                .clients
                .store(clients, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Since when a room that is `empty` now has been empty (`since`: until now), for its
/// linger: the same moment while it stays empty, now when it has just become so.
pub(super) fn empty_since(empty: bool, since: Option<Instant>) -> Option<Instant> {
    match (empty, since) {
        (true, None) => Some(Instant::now()),
        (true, since) => since,
        (false, _) => None,
    }
}

/// Sessions that may be resumed, by token.
pub type DepartedSessions = HashMap<String, Departed>;

/// The sessions of a saved room, resumable from now on for what was left of their time;
/// expired ones are dropped.
pub fn departed_from_saved(sessions: Vec<SavedSession>) -> DepartedSessions {
    let (now, wall) = (Instant::now(), now_ms());
    sessions
        .into_iter()
        .filter(|s| s.resumable_until_ms > wall)
        .map(|s| {
            let left = std::time::Duration::from_millis(s.resumable_until_ms - wall);
            let departed = Departed {
                client: s.client,
                player: s.player,
                spectator: s.spectator,
                session: s.session,
                until: now + left,
            };
            (s.token, departed)
        })
        .collect()
}

impl LocalRoom {
    /// Every session of the room as it is saved: members as if they left now (resumable
    /// for --room-linger), departed sessions for what is left of their time.
    pub(super) fn saved_sessions(&self) -> Vec<SavedSession> {
        let (now, wall) = (Instant::now(), now_ms());
        let linger = self.host.config.room_linger.as_millis() as u64;
        let members = self.members.iter().map(|(&client, m)| SavedSession {
            token: m.resume.clone(),
            client,
            player: m.player.clone(),
            spectator: m.spectator,
            session: self.room.session(client),
            resumable_until_ms: wall + linger,
        });
        let departed = self.departed.iter().map(|(token, d)| SavedSession {
            token: token.clone(),
            client: d.client,
            player: d.player.clone(),
            spectator: d.spectator,
            session: d.session.clone(),
            resumable_until_ms: wall + d.until.saturating_duration_since(now).as_millis() as u64,
        });
        members.chain(departed).collect()
    }
}
