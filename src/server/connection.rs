//! One WebSocket connection: the join request it made, its reader loop and its writer
//! task. It classifies each incoming frame (through [`crate::protocol`]) and forwards it
//! to its room task; it knows nothing of physics.

use std::sync::Arc;

use futures_util::StreamExt;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{Instrument, debug, info_span};

use super::Shared;
use super::outbox::{Outbox, Why, outbox, write_loop};
use super::room_task::{JOIN_TIMEOUT, RoomEvent, RoomHandle, encode};
use crate::protocol::{ClientId, Inbound, ServerMsg, classify_text};
use crate::telemetry;

/// What a client asked for in its handshake URL and headers.
#[derive(Debug, Clone, PartialEq)]
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
}

/// A join that cannot be served; the client gets an `error` and a close frame (1008).
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
    #[error("the server has its maximum of {0} rooms open; try again later")]
    TooManyRooms(u32),
    #[error("the room is full ({0} clients); try again later")]
    RoomFull(u32),
    #[error("server is shutting down")]
    ShuttingDown,
    #[error("the room did not accept the join in time; try again")]
    RoomBusy,
}

impl JoinError {
    pub fn code(&self) -> &'static str {
        match self {
            JoinError::BadRoom(_) => "bad_room",
            JoinError::TooManyRooms(_) => "too_many_rooms",
            JoinError::RoomFull(_) => "room_full",
            JoinError::BadOption { .. } => "bad_option",
            JoinError::UnknownScene(_) => "unknown_scene",
            JoinError::ShuttingDown => "shutting_down",
            JoinError::RoomBusy => "room_busy",
        }
    }
}

impl JoinError {
    /// The close code that ends a refused join.
    pub fn close_code(&self) -> CloseCode {
        match self {
            JoinError::BadRoom(_) | JoinError::BadOption { .. } | JoinError::UnknownScene(_) => {
                CloseCode::Policy
            }
            JoinError::TooManyRooms(_) | JoinError::RoomFull(_) | JoinError::RoomBusy => {
                CloseCode::Again
            }
            JoinError::ShuttingDown => CloseCode::Away,
        }
    }
}

impl JoinRequest {
    /// Parse the request target (`/path?query`); `subprotocol` is whether the client
    /// offered `ballroom.v1`. Unknown query keys are ignored (scenes add their own).
    pub fn parse(
        path: &str,
        query: Option<&str>,
        subprotocol: bool,
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
            protocol: subprotocol,
            player: None,
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
                "echo" => {
                    req.echo = match value.as_ref() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(bad("true or false")),
                    }
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

/// Serve one upgraded WebSocket until either side ends it.
pub async fn serve<S>(
    shared: Arc<Shared>,
    ws: WebSocketStream<S>,
    request: Result<JoinRequest, JoinError>,
    peer: std::net::SocketAddr,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let client = shared.next_client_id();
    let room_name = request.as_ref().map(|r| r.room.clone()).unwrap_or_default();
    let span = info_span!("conn", client, room = %room_name, %peer);
    async move {
        let (sink, mut stream) = ws.split();
        let (outbox, rx) = outbox(
            shared.config.client_queue as usize,
            shared.config.slow_grace,
            shared.shutdown.child_token(),
        );
        let writer = tokio::spawn(write_loop(sink, rx, shared.config.ping_interval));
        let _open = ConnectionGauge::open();

        let joined = match request {
            Ok(req) => join(&shared, client, &req, &outbox).await,
            Err(e) => Err(e),
        };
        let room = match joined {
            Ok(room) => room,
            Err(e) => {
                debug!(code = e.code(), %e, "join refused");
                reject(&outbox, e.code(), &e.to_string());
                outbox.disconnect(Why::Refused(e.close_code(), e.to_string()));
                let _ = writer.await;
                return;
            }
        };
        debug!("connected");

        let config = &shared.config;
        let idle = config.idle_timeout;
        let mut last_seen = Instant::now();
        let mut budget = Budget::new(config.max_message_rate, f64::from(config.message_burst));
        let end = loop {
            let frame = tokio::select! {
                _ = outbox.ended() => break None,
                _ = tokio::time::sleep_until(last_seen + idle) => break Some(Why::IdleTimeout(idle)),
                frame = stream.next() => frame,
            };
            last_seen = Instant::now();
            if let Some(Ok(Message::Text(_) | Message::Binary(_))) = &frame {
                if !budget.take(last_seen) {
                    if budget.should_warn(last_seen) {
                        let message = format!(
                            "too many messages: at most {} per second (bursts of {}); frames over the budget are dropped",
                            config.max_message_rate, config.message_burst
                        );
                        reject(&outbox, "too_many_messages", &message);
                    }
                    continue;
                }
            }
            let event = match frame {
                None => break Some(Why::Gone),
                Some(Ok(Message::Text(text))) => {
                    count_in(text.len());
                    match classify_text(&text) {
                        Inbound::Command(command) => {
                            telemetry::hot().commands_in.increment(1);
                            RoomEvent::Command { client, command }
                        }
                        Inbound::Relay => {
                            telemetry::hot().relays_in.increment(1);
                            RoomEvent::Relay {
                                client,
                                frame: Message::Text(text),
                            }
                        }
                        Inbound::Reject(e) => {
                            telemetry::hot().rejected_in.increment(1);
                            debug!(code = e.code(), %e, "frame rejected");
                            reject(&outbox, e.code(), &e.to_string());
                            continue;
                        }
                    }
                }
                Some(Ok(frame @ Message::Binary(_))) => {
                    count_in(frame.len());
                    telemetry::hot().relays_in.increment(1);
                    RoomEvent::Relay { client, frame }
                }
                Some(Ok(Message::Close(_))) => break Some(Why::ClientClosed),
                Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
                Some(Err(e)) => {
                    debug!(error = %e, "read failed");
                    break Some(match e {
                        WsError::Capacity(_) => Why::TooBig {
                            limit: shared.config.max_message_size,
                        },
                        WsError::Utf8(_) => Why::InvalidUtf8,
                        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Why::Gone,
                        WsError::Protocol(p) => Why::Protocol(p.to_string()),
                        _ => Why::Gone,
                    });
                }
            };
            tokio::select! {
                _ = outbox.ended() => break None,
                sent = room.events.send(event) => if sent.is_err() { break None },
            }
        };

        if let Some(why) = end {
            outbox.disconnect(why);
        }
        let _ = room.events.send(RoomEvent::Leave { client }).await;
        outbox.disconnect(Why::Gone); // no-op if a reason was already given
        let _ = writer.await;
        debug!("disconnected");
    }
    .instrument(span)
    .await
}

/// A client's message budget: a token bucket over all its data frames.
struct Budget {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
    warned: Option<Instant>,
}

impl Budget {
    fn new(rate: f64, burst: f64) -> Budget {
        Budget {
            tokens: burst,
            rate,
            burst,
            at: Instant::now(),
            warned: None,
        }
    }

    /// Spend one token if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// At most one warning a second, so the errors cannot flood the client in turn.
    fn should_warn(&mut self, now: Instant) -> bool {
        let due = self
            .warned
            .is_none_or(|t| now.saturating_duration_since(t).as_secs() >= 1);
        if due {
            self.warned = Some(now);
        }
        due
    }
}

/// Answer a refused frame or join with an `error`, and count it.
fn reject(outbox: &Outbox, code: &'static str, message: &str) {
    metrics::counter!(telemetry::REJECTED, "reason" => code).increment(1);
    let _ = outbox.send(encode(&ServerMsg::Error {
        code,
        message,
        seq: None,
    }));
}

fn count_in(bytes: usize) {
    telemetry::hot().bytes_in.increment(bytes as u64);
}

/// Counts a connection open for as long as it lives.
struct ConnectionGauge;

impl ConnectionGauge {
    fn open() -> ConnectionGauge {
        metrics::counter!(telemetry::CONNECTIONS_TOTAL).increment(1);
        metrics::gauge!(telemetry::CONNECTIONS).increment(1.0);
        ConnectionGauge
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!(telemetry::CONNECTIONS).decrement(1.0);
    }
}

/// Join the named room, creating it if needed. A room that closes while we queue
/// (its linger ran out) is retried with a fresh one.
async fn join(
    shared: &Arc<Shared>,
    client: ClientId,
    req: &JoinRequest,
    outbox: &Outbox,
) -> Result<RoomHandle, JoinError> {
    let attempt = async {
        loop {
            if shared.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            let room = shared.room_handle(&req.room, req.scene.as_deref())?;
            let (accepted, answer) = oneshot::channel();
            let join = RoomEvent::Join {
                client,
                outbox: outbox.clone(),
                protocol: req.protocol,
                echo: req.echo,
                player: req.player.clone(),
                accepted,
            };
            if room.events.send(join).await.is_ok() {
                match answer.await {
                    Ok(Ok(())) => return Ok(room),
                    Ok(Err(refused)) => return Err(refused),
                    Err(_) => {} // the room closed meanwhile: try a fresh one
                }
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(JOIN_TIMEOUT, attempt)
        .await
        .unwrap_or(Err(JoinError::RoomBusy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_the_decoded_path_and_the_query_carries_options() {
        let r = JoinRequest::parse(
            "/broadcast/balls%20realm",
            Some("scene=football&echo=false&x=1"),
            false,
            256,
        )
        .unwrap();
        assert_eq!(r.room, "/broadcast/balls realm");
        assert_eq!(r.scene.as_deref(), Some("football"));
        assert!(!r.echo && r.protocol);

        let plain = JoinRequest::parse("/cubes", None, false, 256).unwrap();
        assert!(plain.echo && !plain.protocol);
        assert!(
            JoinRequest::parse("/x", Some("protocol=json"), false, 256)
                .unwrap()
                .protocol
        );
        assert!(JoinRequest::parse("/x", None, true, 256).unwrap().protocol);
    }

    #[test]
    fn bad_join_requests_have_codes() {
        let e = JoinRequest::parse("/x", Some("echo=maybe"), false, 256).unwrap_err();
        assert_eq!(e.code(), "bad_option");
        let e = JoinRequest::parse("/x", Some("protocol=xml"), false, 256).unwrap_err();
        assert_eq!(e.code(), "bad_option");
        let e = JoinRequest::parse("/%FF", None, false, 256).unwrap_err();
        assert_eq!(e, JoinError::BadRoom(256));
        let long = format!("/{}", "a".repeat(256));
        assert_eq!(
            JoinRequest::parse(&long, None, false, 256).unwrap_err(),
            JoinError::BadRoom(256)
        );
        assert_eq!(JoinError::RoomFull(2).close_code(), CloseCode::Again);
        assert_eq!(JoinError::BadRoom(9).close_code(), CloseCode::Policy);
    }
}
