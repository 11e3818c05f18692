//! One WebSocket connection, as mini-redis's `Handler`: a [`Connection`] joins its room,
//! then [`Connection::run`] reads frames until either side ends it. Each text frame is
//! classified by the wire layer ([`classify_text`]) and forwarded to the room task as a
//! command or a relay; the connection knows nothing of physics. Its writer task (in
//! `outbox.rs`) sends what the room hands to its [`Outbox`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::field::{Empty, display};
use tracing::{Instrument, debug, info_span};

use super::ServerState;
use super::client_address::ClientAddress;
use super::disconnect::DisconnectReason;
use super::outbox::{Outbox, outbox, write_loop};
use crate::host::join;
use crate::host::{ConnectionId, RoomHandle, RoomRequest, SharedMailbox};
use crate::host::{JoinError, JoinRequest};
use crate::protocol::{CodedMessage, ErrorCode, Inbound, Vocabulary, WireError, classify_in};
use crate::telemetry;

/// Serve one upgraded WebSocket until either side ends it.
pub async fn serve<S>(
    server: Arc<ServerState>,
    ws: WebSocketStream<S>,
    request: Result<JoinRequest, JoinError>,
    peer: std::net::SocketAddr,
    client: ClientAddress,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = server.host.next_connection_id();
    let room_name = request.as_ref().map(|r| r.room.clone()).unwrap_or_default();
    let span = info_span!("conn", connection, room = %room_name, %peer, client = Empty);
    if client.via_proxy() {
        span.record("client", display(client));
    }
    async move {
        let (sink, stream) = ws.split();
        let (outbox, rx) = outbox(&server.host.queues, server.host.shutdown.child_token());
        let writer =
            server
                .host
                .tasks
                .spawn(write_loop(sink, rx, server.host.config.ping_interval));
        let _open = ConnectionGauge::open();

        let joined = match request {
            Ok(req) => {
                let mailbox: SharedMailbox = Arc::new(outbox.clone());
                let may_open = || server.room_opens.spend(client).map_err(JoinError::from);
                join(&server.host, connection, &req, &mailbox, may_open).await
            }
            Err(e) => Err(e),
        };
        match joined {
            Ok((room, joined)) => {
                debug!(
                    client = joined.client,
                    resumed = joined.resumed,
                    "connected"
                );
                let budget = Budget::new(
                    server.host.config.max_message_rate,
                    f64::from(server.host.config.message_burst),
                    server.host.config.flood_grace,
                );
                let reader = Connection {
                    server,
                    connection,
                    room,
                    outbox,
                    budget,
                };
                reader.run(stream).await;
                debug!("disconnected");
            }
            Err(e) => {
                debug!(code = %e.code(), %e, "join refused");
                outbox.reject(&e, None);
                outbox.disconnect(DisconnectReason::JoinRefused(e));
            }
        }
        let _ = writer.await;
    }
    .instrument(span)
    .await
}

/// A client that is a member of its room.
struct Connection {
    server: Arc<ServerState>,
    connection: ConnectionId,
    room: RoomHandle,
    outbox: Outbox,
    budget: Budget,
}

impl Connection {
    /// Read frames and hand them to the room until the client leaves, breaks a rule, goes
    /// quiet, or the outbox ends the connection; then leave the room.
    async fn run<R>(mut self, mut stream: R)
    where
        R: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        let idle = self.server.host.config.idle_timeout;
        let mut last_seen = Instant::now();
        // One timer for the whole connection, moved on only when it fires early (a frame
        // came since it was set), not re-armed for every frame.
        let quiet = tokio::time::sleep_until(last_seen + idle);
        tokio::pin!(quiet);
        let mut ended = std::pin::pin!(self.outbox.ended());
        let end = loop {
            let frame = tokio::select! {
                biased;
                _ = ended.as_mut() => break None,
                frame = stream.next() => frame,
                _ = quiet.as_mut() => {
                    if last_seen + idle <= Instant::now() {
                        break Some(DisconnectReason::IdleTimeout(idle));
                    }
                    quiet.as_mut().reset(last_seen + idle);
                    continue;
                }
            };
            last_seen = Instant::now();
            let request = match frame {
                None => break Some(DisconnectReason::Gone),
                Some(Ok(Message::Close(_))) => break Some(DisconnectReason::ClientClosed),
                Some(Ok(frame @ (Message::Text(_) | Message::Binary(_)))) => {
                    match self.request(frame, last_seen) {
                        Ok(Some(request)) => request,
                        Ok(None) => continue,
                        Err(flood) => break Some(flood),
                    }
                }
                // Pings are answered by tungstenite, but spend the budget like any frame:
                // each one costs a pong.
                Some(Ok(_)) => match self.over_budget(last_seen) {
                    Err(flood) => break Some(flood),
                    Ok(_) => continue,
                },
                Some(Err(e)) => break Some(self.read_failed(e)),
            };
            tokio::select! {
                biased;
                _ = ended.as_mut() => break None,
                sent = self.room.requests.send(request) => if sent.is_err() { break None },
            }
        };
        let closing = end.as_ref().is_some_and(|why| why.close_frame().is_some());
        if let Some(why) = end {
            self.outbox.disconnect(why);
        }
        let leave = RoomRequest::Leave {
            connection: self.connection,
        };
        let _ = self.room.requests.send(leave).await;
        self.outbox.disconnect(DisconnectReason::Gone); // no-op if a reason was already given
        if closing {
            discard_until_closed(&mut stream).await;
        }
    }

    /// Spend a token of the budget for one frame: `Ok(true)` when the frame is over the
    /// budget (dropped, and the client warned at most once a second), or the reason to
    /// close a client that has stayed over it for `--flood-grace`.
    fn over_budget(&mut self, now: Instant) -> Result<bool, DisconnectReason> {
        let config = &self.server.host.config;
        match self.budget.take(now) {
            Spent::Taken => Ok(false),
            Spent::Flood => Err(DisconnectReason::MessageFlood {
                rate: config.max_message_rate,
                grace: config.flood_grace,
            }),
            Spent::Dropped => {
                if self.budget.should_warn(now) {
                    let warning = CodedMessage {
                        code: ErrorCode::TooManyMessages,
                        message: format!(
                            "too many messages: at most {} per second (bursts of {}); frames over the budget are dropped",
                            config.max_message_rate, config.message_burst
                        ),
                    };
                    self.outbox.reject(&warning, None);
                }
                Ok(true)
            }
        }
    }

    /// What the room must do with one data frame, if anything: over-budget and rejected
    /// frames are answered here and go no further.
    fn request(
        &mut self,
        frame: Message,
        now: Instant,
    ) -> Result<Option<RoomRequest>, DisconnectReason> {
        if self.over_budget(now)? {
            return Ok(None);
        }
        let hot = telemetry::hot();
        hot.bytes_in.increment(frame.len() as u64);
        let connection = self.connection;
        let Message::Text(text) = &frame else {
            hot.relays_in.increment(1);
            return Ok(Some(RoomRequest::Relay { connection, frame }));
        };
        Ok(
            match classify_in(text, Vocabulary::of(self.room.info.rules)) {
                Inbound::Command(command) => {
                    hot.commands_in.increment(1);
                    Some(RoomRequest::Command {
                        connection,
                        command,
                    })
                }
                Inbound::Relay => {
                    hot.relays_in.increment(1);
                    Some(RoomRequest::Relay { connection, frame })
                }
                Inbound::Reject(e) => {
                    hot.rejected_in.increment(1);
                    debug!(code = %e.code(), %e, "frame rejected");
                    self.outbox.reject(&e, None);
                    None
                }
            },
        )
    }

    fn read_failed(&self, e: WsError) -> DisconnectReason {
        debug!(error = %e, "read failed");
        match e {
            WsError::Capacity(_) => DisconnectReason::TooBig {
                limit: self.server.host.config.max_message_size,
            },
            WsError::Utf8(_) => DisconnectReason::InvalidUtf8,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                DisconnectReason::Gone
            }
            WsError::Protocol(p) => DisconnectReason::Protocol(p.to_string()),
            _ => DisconnectReason::Gone,
        }
    }
}

/// A client's message budget: a token bucket over all its frames (pings included), and
/// how long it has been over it.
struct Budget {
    tokens: f64,
    rate: f64,
    burst: f64,
    at: Instant,
    warned: Option<Instant>,
    /// `--flood-grace`.
    grace: Duration,
    /// Since when frames have kept being dropped (no calm second between two drops).
    over_since: Option<Instant>,
    /// The last frame dropped.
    dropped_at: Option<Instant>,
}

/// What spending a token for one frame came to.
#[derive(Debug, PartialEq, Eq)]
enum Spent {
    Taken,
    /// Over the budget: drop the frame.
    Dropped,
    /// Over the budget for longer than the grace: close the connection.
    Flood,
}

/// A client that drops no frame for this long is no longer counted as over its budget.
const CALM: Duration = Duration::from_secs(1);

/// How long a connection the server closes keeps reading (and dropping) what the client
/// still sends, as long as the writer may take to send the close frame.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

/// After the server's close frame: read and drop the client's frames until its close (or
/// the end of the stream), for at most [`CLOSE_DRAIN`]. A socket dropped with unread data
/// is reset, and a reset makes the client's system discard what it has not read yet, close
/// frame and reason included: a client still flooding would never learn why it was closed.
async fn discard_until_closed<R>(stream: &mut R)
where
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    let drain = async {
        while let Some(Ok(frame)) = stream.next().await {
            if frame.is_close() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_DRAIN, drain).await;
}

impl Budget {
    fn new(rate: f64, burst: f64, grace: Duration) -> Budget {
        Budget {
            tokens: burst,
            rate,
            burst,
            at: Instant::now(),
            warned: None,
            grace,
            over_since: None,
            dropped_at: None,
        }
    }

    /// Spend one token if there is one. A flood sends faster than the refill, so some of
    /// its frames still get a token: it is judged by its drops, which never pause for a
    /// calm second.
    fn take(&mut self, now: Instant) -> Spent {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Spent::Taken;
        }
        let calm = self
            .dropped_at
            .is_none_or(|t| now.saturating_duration_since(t) >= CALM);
        if calm {
            self.over_since = Some(now);
        }
        self.dropped_at = Some(now);
        match self.over_since {
            Some(since) if now.saturating_duration_since(since) >= self.grace => Spent::Flood,
            _ => Spent::Dropped,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_budget_past_the_grace_is_a_flood_and_a_calm_second_forgives() {
        let t0 = Instant::now();
        let mut b = Budget::new(10.0, 2.0, Duration::from_secs(3));
        b.at = t0;
        assert_eq!(b.take(t0), Spent::Taken);
        assert_eq!(b.take(t0), Spent::Taken);
        assert_eq!(b.take(t0), Spent::Dropped);
        // A flood: 1,000 frames a second; some get the refill's tokens, the rest drop.
        let mut verdicts = Vec::new();
        for ms in 1..3000u64 {
            verdicts.push(b.take(t0 + Duration::from_millis(ms)));
        }
        assert!(verdicts.contains(&Spent::Taken));
        assert!(!verdicts.contains(&Spent::Flood), "not before the grace");
        let past: Vec<Spent> = (3000..3010u64)
            .map(|ms| b.take(t0 + Duration::from_millis(ms)))
            .collect();
        assert!(past.contains(&Spent::Flood), "{past:?}");
        // A client that bursts, then rests a calm second, starts afresh.
        let mut b = Budget::new(10.0, 1.0, Duration::from_secs(3));
        b.at = t0;
        assert_eq!(b.take(t0), Spent::Taken);
        assert_eq!(b.take(t0), Spent::Dropped);
        let later = t0 + Duration::from_millis(2500);
        assert_eq!(b.take(later), Spent::Taken);
        assert_eq!(b.take(later), Spent::Dropped);
        assert_eq!(b.take(t0 + Duration::from_millis(3500)), Spent::Taken);
        assert_eq!(b.take(t0 + Duration::from_millis(3500)), Spent::Dropped);
    }
}
