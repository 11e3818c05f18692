//! The wire protocol: every type that crosses the WebSocket, and the only code that
//! knows how it is encoded.
//!
//! Incoming text frames are *classified* ([`classify_text`]): a JSON object whose string
//! `type` names a client command is decoded into a [`Command`]; a frame whose `type` is
//! one the server emits (or a malformed command) is rejected with a [`ProtocolError`];
//! everything else is relayed verbatim (the broadcast fallback). Outgoing messages are
//! built as [`ServerMsg`] values and encoded once with [`encode`], so one snapshot is one
//! buffer shared by every recipient.
//!
//! Vectors are accepted as `[x,y,z]` or `{"x":..,"y":..,"z":..}` (quaternions likewise with
//! `w`) and always sent as arrays. Non-finite numbers never leave the decoder.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crate::scene::Scene;

/// Server-wide unique id of one connection.
pub type ClientId = u64;
/// Id of a ball within its scene.
pub type BallId = u32;

/// The WebSocket subprotocol a protocol client may request.
pub const SUBPROTOCOL: &str = "ballroom.v1";

/// Command types a client may send (`type` field).
pub const COMMAND_TYPES: &[&str] = &["kick", "player", "ping", "state", "join_team"];

/// Types only the server emits. A client frame with one of these `type`s that is not a
/// valid command is rejected and never relayed, so nobody can spoof the server.
pub const SERVER_TYPES: &[&str] = &[
    "welcome", "snapshot", "kick", "player", "joined", "left", "pong", "error", "match", "goal",
    "result",
];

/// A three-component vector on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Vec3(pub [f32; 3]);

/// A quaternion `[x, y, z, w]` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Quat(pub [f32; 4]);

impl Quat {
    pub const IDENTITY: Quat = Quat([0.0, 0.0, 0.0, 1.0]);
}

/// A decoded, finite client command.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Apply `impulse` (N·s) to `ball` on the next tick, at `point` (world space) if given.
    Kick {
        ball: BallId,
        impulse: Vec3,
        #[serde(default)]
        point: Option<Vec3>,
        #[serde(default)]
        seq: Option<u64>,
    },
    /// The player's avatar pose (feet position).
    Player {
        position: Vec3,
        #[serde(default)]
        rotation: Option<Quat>,
    },
    /// Clock sync: answered with `pong` carrying `t` back.
    Ping {
        #[serde(default)]
        t: serde_json::Value,
    },
    /// Ask for an immediate full snapshot.
    State,
    /// Join a team in a match scene; `null`, `"spectator"` or no `team` leaves teams.
    JoinTeam {
        #[serde(default)]
        team: Option<TeamChoice>,
    },
}

/// A match team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Team {
    Blue,
    Red,
}

impl std::fmt::Display for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Team::Blue => "blue",
            Team::Red => "red",
        })
    }
}

impl Team {
    pub fn other(self) -> Team {
        match self {
            Team::Blue => Team::Red,
            Team::Red => Team::Blue,
        }
    }
}

/// What `join_team` may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamChoice {
    Blue,
    Red,
    Spectator,
}

impl TeamChoice {
    pub fn team(self) -> Option<Team> {
        match self {
            TeamChoice::Blue => Some(Team::Blue),
            TeamChoice::Red => Some(Team::Red),
            TeamChoice::Spectator => None,
        }
    }
}

/// What to do with one incoming frame.
#[derive(Debug)]
pub enum Inbound {
    /// A valid server command.
    Command(Command),
    /// Not ours: relay it verbatim to the room.
    Relay,
    /// Rejected: answer the sender with an error, relay nothing.
    Reject(ProtocolError),
}

/// Why a client frame was rejected by the decoder.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    #[error("invalid `{kind}` command: {detail}")]
    NonFinite { kind: String, detail: String },
    #[error("malformed JSON in a `{kind}` message: {detail}")]
    BadJson { kind: String, detail: String },
    #[error("invalid `{kind}` command: {detail}")]
    BadCommand { kind: String, detail: String },
    #[error("`{0}` is a server message type and cannot be sent by a client")]
    ReservedType(String),
}

impl ProtocolError {
    /// The stable machine-readable code sent in `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::NonFinite { .. } => "non_finite",
            ProtocolError::BadCommand { .. } => "bad_command",
            ProtocolError::BadJson { .. } => "bad_json",
            ProtocolError::ReservedType(_) => "reserved_type",
        }
    }
}

/// Classify one incoming text frame: command, relay, or reject.
pub fn classify_text(text: &str) -> Inbound {
    // Cheap pre-check: only a JSON object can be a command.
    if !text.trim_start().starts_with('{') {
        return Inbound::Relay;
    }
    let kind = match serde_json::from_str::<TypeProbe>(text) {
        Ok(TypeProbe {
            kind: Some(TypeField::Name(kind)),
        }) => kind,
        // No `type`, or a non-string `type` (the example scenes' numeric types): relay.
        Ok(_) => return Inbound::Relay,
        // Not JSON. If it plainly meant to be one of ours, say why it failed; any other
        // text is relayed untouched, as the broadcast server it replaces would.
        Err(e) => {
            return match sniff_type(text) {
                Some(kind) if is_ours(kind) => Inbound::Reject(ProtocolError::BadJson {
                    kind: kind.to_owned(),
                    detail: e.to_string(),
                }),
                _ => Inbound::Relay,
            };
        }
    };
    if COMMAND_TYPES.contains(&kind.as_ref()) {
        NON_FINITE.set(false);
        return match serde_json::from_str::<Command>(text) {
            Ok(cmd) => Inbound::Command(cmd),
            Err(e) => {
                let (kind, detail) = (kind.into_owned(), e.to_string());
                Inbound::Reject(if NON_FINITE.get() {
                    ProtocolError::NonFinite { kind, detail }
                } else {
                    ProtocolError::BadCommand { kind, detail }
                })
            }
        };
    }
    if SERVER_TYPES.contains(&kind.as_ref()) {
        return Inbound::Reject(ProtocolError::ReservedType(kind.into_owned()));
    }
    Inbound::Relay
}

fn is_ours(kind: &str) -> bool {
    COMMAND_TYPES.contains(&kind) || SERVER_TYPES.contains(&kind)
}

/// In text that failed to parse, the string value of the first `"type": "..."` pair.
fn sniff_type(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(i) = rest.find("\"type\"") {
        rest = &rest[i + 6..];
        let value = rest.trim_start().strip_prefix(':').map(str::trim_start);
        if let Some(v) = value.and_then(|v| v.strip_prefix('"')) {
            return v.find('"').map(|end| &v[..end]);
        }
    }
    None
}

#[derive(Deserialize)]
struct TypeProbe<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<TypeField<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TypeField<'a> {
    Name(#[serde(borrow)] Cow<'a, str>),
    #[allow(dead_code)]
    Other(IgnoredAny),
}

// ---------------------------------------------------------------------------------------
// Server → client messages

/// The state of one ball in a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BallState {
    pub id: BallId,
    /// Position of the centre (m).
    pub p: Vec3,
    /// Rotation quaternion `[x,y,z,w]`.
    pub q: Quat,
    /// Linear velocity (m/s).
    pub v: Vec3,
    /// Angular velocity (rad/s).
    pub w: Vec3,
    pub sleeping: bool,
}

/// An authoritative snapshot of a room's balls.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    pub tick: u64,
    /// Room clock in seconds (`tick / tick_rate`).
    pub time: f64,
    pub balls: Vec<BallState>,
    /// Per client, the `seq` of the last kick of theirs that has been applied.
    pub acks: BTreeMap<ClientId, u64>,
}

/// A kick the server applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KickEvent {
    pub client: ClientId,
    pub ball: BallId,
    pub impulse: Vec3,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<Vec3>,
    pub tick: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The phase of a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Waiting for enough players on both teams.
    Waiting,
    /// `3, 2, 1, go`, one step a second.
    Countdown,
    Playing,
    /// A team emptied mid-match; the clock is stopped.
    Paused,
    /// The result stands for a moment, then the room returns to waiting.
    Ended,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    pub blue: u32,
    pub red: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Teams {
    pub blue: Vec<ClientId>,
    pub red: Vec<ClientId>,
}

/// The whole state of a match, as of `tick`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchState {
    pub phase: Phase,
    /// During a countdown: the step showing (`"3"`, `"2"`, `"1"`); `"go"` on the message that
    /// starts play.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countdown: Option<&'static str>,
    /// Match clock, in seconds; it runs only while `phase` is `playing`.
    pub seconds_left: f64,
    pub score: Score,
    pub teams: Teams,
    /// The team that must take the next kick (after a goal, the team that conceded).
    pub kickoff: Option<Team>,
    pub min_players_per_team: u32,
    pub tick: u64,
}

/// A goal, as the server saw it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoalEvent {
    /// The team that scored.
    pub team: Team,
    /// The client who last kicked the ball, if any.
    pub scorer: Option<ClientId>,
    pub ball: BallId,
    pub score: Score,
    pub tick: u64,
}

/// The final word on a match.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchResult {
    pub score: Score,
    /// `null` for a draw.
    pub winner: Option<Team>,
    /// The match ended because a team emptied.
    pub forfeit: bool,
    pub tick: u64,
}

/// A message from the server.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg<'a> {
    Welcome {
        client: ClientId,
        room: &'a str,
        tick: u64,
        time: f64,
        tick_rate: f64,
        snapshot_rate: f64,
        echo: bool,
        clients: Vec<ClientId>,
        /// The scene description, in the scene-file format (see `docs/PROTOCOL.md`).
        scene: &'a Scene,
        /// The match state, in scenes with match rules.
        #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
        match_state: Option<&'a MatchState>,
        /// The player id of the client's handshake token (with `--auth-secret`).
        #[serde(skip_serializing_if = "Option::is_none")]
        player: Option<&'a str>,
    },
    Match(&'a MatchState),
    Goal(&'a GoalEvent),
    Result(&'a MatchResult),
    Snapshot(&'a Snapshot),
    Kick(&'a KickEvent),
    Joined {
        client: ClientId,
    },
    Left {
        client: ClientId,
    },
    Player {
        client: ClientId,
        position: Vec3,
        rotation: Quat,
    },
    Pong {
        t: &'a serde_json::Value,
        tick: u64,
        server_time: f64,
    },
    Error {
        code: &'a str,
        message: &'a str,
        /// The `seq` of the rejected kick, when it had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
}

/// Encode a server message as the text of one frame.
pub fn encode(msg: &ServerMsg<'_>) -> String {
    // Serialization of these types cannot fail: every map key is a string or an integer
    // and every number is finite.
    serde_json::to_string(msg).expect("server messages always serialize")
}

// ---------------------------------------------------------------------------------------
// Vector codecs: arrays or {x,y,z[,w]} objects in, arrays out, finite only.

thread_local! {
    /// Set when the decoder refused a non-finite number, so the rejection gets its own
    /// code without inspecting serde's message text.
    static NON_FINITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn finite<E: de::Error>(v: f64, what: &str) -> Result<f32, E> {
    let f = v as f32;
    if v.is_finite() && f.is_finite() {
        Ok(f)
    } else {
        NON_FINITE.set(true);
        Err(E::custom(format_args!(
            "{what} component {v} is not a finite 32-bit number"
        )))
    }
}

struct ComponentsVisitor<const N: usize>(&'static str);

impl<'de, const N: usize> Visitor<'de> for ComponentsVisitor<N> {
    type Value = [f32; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} as an array of {N} numbers or an object", self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = [0.0; N];
        for (i, slot) in out.iter_mut().enumerate() {
            let v: f64 = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
            *slot = finite(v, self.0)?;
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(N + 1, &self));
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const NAMES: [&str; 4] = ["x", "y", "z", "w"];
        let mut out = [None; N];
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match NAMES[..N].iter().position(|n| *n == key) {
                Some(i) => out[i] = Some(finite(map.next_value::<f64>()?, self.0)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mut res = [0.0; N];
        for i in 0..N {
            res[i] = out[i].ok_or_else(|| de::Error::missing_field(NAMES[i]))?;
        }
        Ok(res)
    }
}

impl<'de> Deserialize<'de> for Vec3 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ComponentsVisitor::<3>("vector"))
            .map(Vec3)
    }
}

impl<'de> Deserialize<'de> for Quat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let [x, y, z, w] = d.deserialize_any(ComponentsVisitor::<4>("quaternion"))?;
        let norm = (x * x + y * y + z * z + w * w).sqrt();
        if !(norm > 1e-6 && norm.is_finite()) {
            return Err(de::Error::custom("quaternion has zero length"));
        }
        Ok(Quat([x / norm, y / norm, z / norm, w / norm]))
    }
}

// ---------------------------------------------------------------------------------------
// Plain HTTP

/// One row of `GET /rooms`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoomSummary {
    pub room: String,
    pub scene: String,
    pub clients: usize,
    pub tick: u64,
}

/// The body of `GET /rooms`.
pub fn encode_rooms(rooms: &[RoomSummary]) -> String {
    serde_json::to_string(rooms).expect("room summaries always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject_code(text: &str) -> &'static str {
        match classify_text(text) {
            Inbound::Reject(e) => e.code(),
            other => panic!("{text} was not rejected: {other:?}"),
        }
    }

    #[test]
    fn commands_decode_from_arrays_and_objects() {
        let a = classify_text(r#"{"type":"kick","ball":1,"impulse":[1,2,3],"seq":4}"#);
        let b = classify_text(r#"{"type":"kick","ball":1,"impulse":{"x":1,"y":2,"z":3},"seq":4}"#);
        let expected = Command::Kick {
            ball: 1,
            impulse: Vec3([1.0, 2.0, 3.0]),
            point: None,
            seq: Some(4),
        };
        for got in [a, b] {
            match got {
                Inbound::Command(c) => assert_eq!(c, expected),
                other => panic!("{other:?}"),
            }
        }
        match classify_text(
            r#"{"type":"player","position":[1,0,2],"rotation":{"x":0,"y":0,"z":0,"w":2}}"#,
        ) {
            Inbound::Command(Command::Player { position, rotation }) => {
                assert_eq!(position, Vec3([1.0, 0.0, 2.0]));
                assert_eq!(rotation, Some(Quat::IDENTITY), "normalised");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_text(r#"{"type":"state"}"#),
            Inbound::Command(Command::State)
        ));
        assert!(matches!(
            classify_text(r#"{"type":"ping","t":{"any":"thing"}}"#),
            Inbound::Command(Command::Ping { .. })
        ));
    }

    #[test]
    fn foreign_messages_are_relayed() {
        for text in [
            r#"{"cube":3}"#,
            r#"{"type":1,"user":"a","ball":0,"vector":{"x":0,"y":0,"z":1},"vectorScale":100}"#,
            r#"{"type":0,"data":{}}"#,
            r#"{"type":"join","data":{"team":1}}"#,
            r#"{"type":"Board-fullStateReq","data":null}"#,
            "hello, not json",
            "[1,2,3]",
            "{ not json but no type either",
        ] {
            assert!(matches!(classify_text(text), Inbound::Relay), "{text}");
        }
    }

    #[test]
    fn spoofs_and_bad_commands_are_rejected_with_codes() {
        let cases = [
            (
                r#"{"type":"snapshot","tick":1,"balls":[]}"#,
                "reserved_type",
            ),
            (r#"{"type":"welcome"}"#, "reserved_type"),
            (
                r#"{"type":"kick","ball":"zero","impulse":[0,0,1]}"#,
                "bad_command",
            ),
            (r#"{"type":"kick","ball":0,"impulse":[0,1]}"#, "bad_command"),
            (
                r#"{"type":"kick","ball":0,"impulse":[0,0,1],"extra":1}"#,
                "bad_command",
            ),
            (
                r#"{"type":"kick","ball":0,"impulse":[1e39,0,0]}"#,
                "non_finite",
            ),
            (
                r#"{"type":"player","position":{"x":1e300,"y":0,"z":0}}"#,
                "non_finite",
            ),
            (
                r#"{"type":"kick","ball":0,"impulse":[NaN,0,0]}"#,
                "bad_json",
            ),
            // The code comes from the decoder, not from matching message text.
            (r#"{"type":"kick","not finite":1}"#, "bad_command"),
            (r#"{"type": "kick", "ball": }"#, "bad_json"),
            (
                r#"{"type":"player","position":[0,0,0],"rotation":[0,0,0,0]}"#,
                "bad_command",
            ),
        ];
        for (text, code) in cases {
            assert_eq!(reject_code(text), code, "{text}");
        }
    }

    #[test]
    fn server_messages_encode_vectors_as_arrays() {
        let snap = Snapshot {
            tick: 7,
            time: 0.5,
            balls: vec![BallState {
                id: 0,
                p: Vec3([1.0, 2.0, 3.0]),
                q: Quat::IDENTITY,
                v: Vec3([0.0; 3]),
                w: Vec3([0.0; 3]),
                sleeping: true,
            }],
            acks: BTreeMap::from([(3, 9)]),
        };
        let v: serde_json::Value =
            serde_json::from_str(&encode(&ServerMsg::Snapshot(&snap))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"snapshot","tick":7,"time":0.5,"balls":[
                {"id":0,"p":[1.0,2.0,3.0],"q":[0.0,0.0,0.0,1.0],"v":[0.0,0.0,0.0],"w":[0.0,0.0,0.0],"sleeping":true}
            ],"acks":{"3":9}})
        );
        let e = encode(&ServerMsg::Error {
            code: "x",
            message: "y",
            seq: None,
        });
        assert_eq!(e, r#"{"type":"error","code":"x","message":"y"}"#);
    }
}
