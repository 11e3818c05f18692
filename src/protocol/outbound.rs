//! Server → client: every message the server sends, built from the simulation's types
//! and encoded as JSON text. Each message is encoded once per room and shared.
//!
//! The simulation's types carry no serde: the `*Json` views below are the wire's
//! spelling of them (vectors as arrays, short ball field names), borrowed, so encoding
//! copies nothing before serde writes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::value::RawValue;

use super::Encoding;
use super::binary::Params;
use super::error_code::ErrorCode;
use super::inbound::PingToken;
use crate::ids::{BallId, ClientId};
use crate::room::{BallState, KickApplied, PlayerPose, Snapshot};
use crate::scene::Scene;

/// What a client learns when it becomes a protocol client.
#[derive(Debug)]
pub struct Welcome<'a> {
    pub client: ClientId,
    pub room: &'a str,
    pub tick: u64,
    pub time: f64,
    pub tick_rate: f64,
    pub snapshot_rate: f64,
    pub echo: bool,
    pub clients: Vec<ClientId>,
    /// The scene description, in the scene-file format (see `docs/PROTOCOL.md`).
    pub scene: &'a Scene,
    /// The player id of the client's handshake token (with `--auth-secret`).
    pub player: Option<&'a str>,
    /// The token that resumes this session on a new connection (`?resume=`).
    pub resume: &'a str,
    /// This connection resumed an earlier session.
    pub resumed: bool,
    /// The client watches only (`?spectate=1`).
    pub spectator: bool,
    /// How this client receives snapshots.
    pub encoding: Encoding,
    /// With binary snapshots: what a decoder needs (bounds, resolutions, ball ids).
    pub binary: Option<&'a Params>,
    /// In a room with rules: the rules' current state, as JSON text (`null` until set).
    pub rules_state: Option<&'a str>,
}

/// A message from the server.
#[derive(Debug)]
pub enum ServerMsg<'a> {
    Welcome(Welcome<'a>),
    Snapshot(&'a Snapshot),
    Kick(&'a KickApplied),
    Joined {
        client: ClientId,
    },
    Left {
        client: ClientId,
    },
    Player(&'a PlayerPose),
    Pong {
        t: &'a PingToken,
        tick: u64,
        server_time: f64,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
        /// The `seq` of the rejected kick, when it had one.
        seq: Option<u64>,
    },
    /// A message of the room's rules; `data` is JSON text.
    Message {
        name: &'a str,
        data: &'a str,
    },
    /// The rules' new state, as JSON text.
    RulesState {
        state: &'a str,
        tick: u64,
    },
    /// The rules ended a match with `result` (JSON text).
    RulesResult {
        result: &'a str,
        tick: u64,
    },
}

/// Encode a server message as the text of one frame.
pub fn encode(msg: &ServerMsg<'_>) -> String {
    // Serialization of these types cannot fail: every map key is a string or an integer
    // and every number is finite.
    serde_json::to_string(&Json::from(msg)).expect("server messages always serialize")
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Json<'a> {
    Welcome {
        client: ClientId,
        room: &'a str,
        tick: u64,
        time: f64,
        tick_rate: f64,
        snapshot_rate: f64,
        echo: bool,
        clients: &'a [ClientId],
        scene: &'a Scene,
        #[serde(skip_serializing_if = "Option::is_none")]
        player: Option<&'a str>,
        resume: &'a str,
        resumed: bool,
        spectator: bool,
        encoding: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        binary: Option<&'a Params>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rules_state: Option<&'a RawValue>,
    },
    Snapshot {
        tick: u64,
        time: f64,
        #[serde(serialize_with = "serialize_balls")]
        balls: &'a [BallState],
        acks: &'a BTreeMap<ClientId, u64>,
    },
    Kick {
        client: ClientId,
        ball: BallId,
        impulse: &'a [f32; 3],
        #[serde(skip_serializing_if = "Option::is_none")]
        point: Option<&'a [f32; 3]>,
        tick: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    Joined {
        client: ClientId,
    },
    Left {
        client: ClientId,
    },
    Player {
        client: ClientId,
        position: &'a [f32; 3],
        rotation: &'a [f32; 4],
    },
    Pong {
        t: &'a serde_json::value::RawValue,
        tick: u64,
        server_time: f64,
    },
    Error {
        code: &'static str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    Message {
        name: &'a str,
        data: &'a RawValue,
    },
    RulesState {
        state: &'a RawValue,
        tick: u64,
    },
    #[serde(rename = "result")]
    RulesResult {
        result: &'a RawValue,
        tick: u64,
    },
}

/// JSON text the server made (from a value), to be written as it is; `null` if it is
/// somehow not JSON.
fn raw(json: &str) -> &RawValue {
    serde_json::from_str(json).unwrap_or_else(|_| serde_json::from_str("null").expect("JSON"))
}

impl<'b> From<&'b ServerMsg<'_>> for Json<'b> {
    fn from(msg: &'b ServerMsg<'_>) -> Json<'b> {
        match *msg {
            ServerMsg::Welcome(ref w) => Json::Welcome {
                client: w.client,
                room: w.room,
                tick: w.tick,
                time: w.time,
                tick_rate: w.tick_rate,
                snapshot_rate: w.snapshot_rate,
                echo: w.echo,
                clients: &w.clients,
                scene: w.scene,
                player: w.player,
                resume: w.resume,
                resumed: w.resumed,
                spectator: w.spectator,
                encoding: w.encoding.as_str(),
                binary: w.binary,
                rules_state: w.rules_state.map(raw),
            },
            ServerMsg::Snapshot(s) => Json::Snapshot {
                tick: s.tick,
                time: s.time,
                balls: &s.balls,
                acks: &s.acks,
            },
            ServerMsg::Kick(k) => Json::Kick {
                client: k.client,
                ball: k.ball,
                impulse: &k.impulse,
                point: k.point.as_ref(),
                tick: k.tick,
                seq: k.seq,
            },
            ServerMsg::Joined { client } => Json::Joined { client },
            ServerMsg::Left { client } => Json::Left { client },
            ServerMsg::Player(p) => Json::Player {
                client: p.client,
                position: &p.position,
                rotation: &p.rotation,
            },
            ServerMsg::Pong {
                t,
                tick,
                server_time,
            } => Json::Pong {
                t: raw(t.json()),
                tick,
                server_time,
            },
            ServerMsg::Error { code, message, seq } => Json::Error {
                code: code.as_str(),
                message,
                seq,
            },
            ServerMsg::Message { name, data } => Json::Message {
                name,
                data: raw(data),
            },
            ServerMsg::RulesState { state, tick } => Json::RulesState {
                state: raw(state),
                tick,
            },
            ServerMsg::RulesResult { result, tick } => Json::RulesResult {
                result: raw(result),
                tick,
            },
        }
    }
}

/// One ball in a JSON snapshot.
#[derive(Serialize)]
struct BallJson<'a> {
    id: BallId,
    p: &'a [f32; 3],
    q: &'a [f32; 4],
    v: &'a [f32; 3],
    w: &'a [f32; 3],
    sleeping: bool,
}

fn serialize_balls<S: Serializer>(balls: &&[BallState], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(balls.iter().map(|b| BallJson {
        id: b.id,
        p: &b.position,
        q: &b.rotation,
        v: &b.linvel,
        w: &b.angvel,
        sleeping: b.sleeping,
    }))
}
