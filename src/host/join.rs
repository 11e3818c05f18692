//! What a client asks for in its handshake URL ([`JoinRequest`]) and why a join is
//! refused ([`JoinError`]). Getting a client into its room is `registry.rs`'s
//! `join`.

use percent_encoding::percent_decode_str;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::protocol::{Encoding, ErrorCode, WireError};

/// What a client asked for in its handshake URL and headers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct JoinRequest {
    /// The percent-decoded URL path.
    pub room: String,
    /// `?scene=`: the scene for a new room.
    pub scene: Option<String>,
    /// `?echo=` (default true): receive your own relayed messages.
    pub echo: bool,
    /// Opted in to server messages (subprotocol `ballroom.v1`, `?scene=` or `?protocol=json`).
    pub protocol: bool,
    /// The player id from the handshake token, with `--auth-secret`.
    pub player: Option<String>,
    /// `?resume=`: the token of an earlier session to resume (an unknown one is ignored).
    pub resume: Option<String>,
    /// How snapshots reach the client: `ballroom.v2` or `?encoding=binary` for binary.
    pub encoding: Encoding,
    /// `?spectate=1`: watch only (a protocol client that cannot kick, move or join a team,
    /// and is not listed as a player).
    pub spectate: bool,
}

/// A join that cannot be served; the client gets an `error`, then a close frame with
/// [`JoinError::close_code`] (1008, 1013 or 1001).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JoinError {
    #[error("room name (URL path) must be valid UTF-8 of at most {0} bytes")]
    BadRoom(u32),
    #[error("bad query option `{key}={value}`: {expected}")]
    BadOption {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("unknown scene `{0}`")]
    UnknownScene(String),
    /// A scene of `--assets` whose file (or one of its models) failed to load.
    #[error("unknown scene `{name}`: it failed to load: {reason}")]
    SceneFailed { name: String, reason: String },
    #[error("the server has its maximum of {0} rooms open; try again later")]
    TooManyRooms(u32),
    /// This client address opened rooms faster than `--room-opens-per-ip` allows.
    #[error(
        "too many rooms opened from this address (at most {rate} a second, {burst} at once); \
         try again in {retry_after_secs} s"
    )]
    OpenRate {
        rate: f64,
        burst: u32,
        retry_after_secs: u64,
    },
    #[error("the room is full ({0} clients); try again later")]
    RoomFull(u32),
    #[error("server is shutting down")]
    ShuttingDown,
    #[error("the room did not accept the join in time; try again")]
    RoomBusy,
}

impl WireError for JoinError {
    fn code(&self) -> ErrorCode {
        match self {
            JoinError::BadRoom(_) => ErrorCode::BadRoom,
            JoinError::TooManyRooms(_) | JoinError::OpenRate { .. } => ErrorCode::TooManyRooms,
            JoinError::RoomFull(_) => ErrorCode::RoomFull,
            JoinError::BadOption { .. } => ErrorCode::BadOption,
            JoinError::UnknownScene(_) | JoinError::SceneFailed { .. } => ErrorCode::UnknownScene,
            JoinError::ShuttingDown => ErrorCode::ShuttingDown,
            JoinError::RoomBusy => ErrorCode::RoomBusy,
        }
    }
}

impl JoinError {
    /// The close code that ends a refused join: 1008 for a request that will never
    /// succeed, 1013 (try again later) for a full server or room, 1001 during shutdown.
    pub fn close_code(&self) -> CloseCode {
        match self {
            JoinError::BadRoom(_)
            | JoinError::BadOption { .. }
            | JoinError::UnknownScene(_)
            | JoinError::SceneFailed { .. } => CloseCode::Policy,
            JoinError::TooManyRooms(_)
            | JoinError::OpenRate { .. }
            | JoinError::RoomFull(_)
            | JoinError::RoomBusy => CloseCode::Again,
            JoinError::ShuttingDown => CloseCode::Away,
        }
    }
}

impl JoinRequest {
    /// Parse the request target (`/path?query`); `subprotocol` is the ballroom subprotocol
    /// the server selected, if the client offered one (`ballroom.v2` for binary snapshots,
    /// `ballroom.v1` for JSON). Unknown query keys are ignored (scenes add their own).
    pub fn parse(
        path: &str,
        query: Option<&str>,
        subprotocol: Option<Encoding>,
        max_room_name: u32,
    ) -> Result<Self, JoinError> {
        let room = percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| JoinError::BadRoom(max_room_name))?
            .into_owned();
        if room.len() > max_room_name as usize {
            return Err(JoinError::BadRoom(max_room_name));
        }
        let mut req = JoinRequest {
            room,
            scene: None,
            echo: true,
            protocol: subprotocol.is_some(),
            player: None,
            resume: None,
            encoding: subprotocol.unwrap_or_default(),
            spectate: false,
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value).decode_utf8_lossy();
            let bad = |expected| JoinError::BadOption {
                key: key.to_owned(),
                value: value.to_string(),
                expected,
            };
            match key {
                "scene" => {
                    req.scene = Some(value.to_string());
                    req.protocol = true;
                }
                "echo" => req.echo = flag(&value).ok_or_else(|| bad("true or false"))?,
                "spectate" => {
                    req.spectate = flag(&value).ok_or_else(|| bad("true or false"))?;
                    req.protocol |= req.spectate;
                }
                "resume" if !value.is_empty() => req.resume = Some(value.to_string()),
                "encoding" => {
                    req.encoding = match value.as_ref() {
                        "json" => Encoding::Json,
                        "binary" => Encoding::Binary,
                        _ => return Err(bad("json or binary")),
                    };
                    req.protocol = true;
                }
                "protocol" => match value.as_ref() {
                    "json" => req.protocol = true,
                    _ => return Err(bad("json")),
                },
                _ => {}
            }
        }
        Ok(req)
    }
}

/// A boolean query value: `true`/`1` or `false`/`0`.
fn flag(value: &str) -> Option<bool> {
    match value {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_the_decoded_path_and_the_query_carries_options() {
        let r = JoinRequest::parse(
            "/broadcast/balls%20realm",
            Some("scene=football&echo=false&x=1"),
            None,
            256,
        )
        .unwrap();
        assert_eq!(r.room, "/broadcast/balls realm");
        assert_eq!(r.scene.as_deref(), Some("football"));
        assert!(!r.echo && r.protocol);

        let watcher = JoinRequest::parse("/x", Some("spectate=1&resume=abc"), None, 256).unwrap();
        assert!(watcher.spectate && watcher.protocol);
        assert_eq!(watcher.resume.as_deref(), Some("abc"));
        let binary = JoinRequest::parse("/x", Some("encoding=binary"), None, 256).unwrap();
        assert!(binary.protocol && binary.encoding == Encoding::Binary);
        let v2 = JoinRequest::parse("/x", None, Some(Encoding::Binary), 256).unwrap();
        assert!(v2.protocol && v2.encoding == Encoding::Binary);
        let e = JoinRequest::parse("/x", Some("encoding=xml"), None, 256).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadOption);
        let e = JoinRequest::parse("/x", Some("spectate=yes"), None, 256).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadOption);

        let plain = JoinRequest::parse("/cubes", None, None, 256).unwrap();
        assert!(plain.echo && !plain.protocol);
        assert!(
            JoinRequest::parse("/x", Some("protocol=json"), None, 256)
                .unwrap()
                .protocol
        );
        assert!(
            JoinRequest::parse("/x", None, Some(Encoding::Json), 256)
                .unwrap()
                .protocol
        );
    }

    #[test]
    fn bad_join_requests_have_codes() {
        let e = JoinRequest::parse("/x", Some("echo=maybe"), None, 256).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadOption);
        let e = JoinRequest::parse("/x", Some("protocol=xml"), None, 256).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadOption);
        let e = JoinRequest::parse("/%FF", None, None, 256).unwrap_err();
        assert_eq!(e, JoinError::BadRoom(256));
        let long = format!("/{}", "a".repeat(256));
        assert_eq!(
            JoinRequest::parse(&long, None, None, 256).unwrap_err(),
            JoinError::BadRoom(256)
        );
        assert_eq!(JoinError::RoomFull(2).close_code(), CloseCode::Again);
        assert_eq!(JoinError::BadRoom(9).close_code(), CloseCode::Policy);
    }
}
