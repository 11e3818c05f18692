//! The HTTP/1.1 front of every TCP connection: WebSocket upgrades become room
//! connections (after the per-address handshake limit: `429` over it); `GET /healthz`,
//! `GET /rooms` and `GET /metrics` are answered in plain HTTP, and `GET /` (with its files)
//! is the live viewer (`viewer.rs`). Plain endpoints are named by the path's last segment,
//! under any directory (`GET /broadcast/rooms` is `/rooms`), so that the viewer also works
//! behind a proxy that forwards its path prefix whole. Connections refused at accept get their answer from
//! [`refuse_early`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::debug;

use super::ServerState;
use super::address_budget::OverBudget;
use super::address_limits::{AddressRefusal, AddressSlot};
use super::client_address::ClientAddress;
use super::connection;
use super::viewer;
use crate::auth::{self, AuthError};
use crate::host::JoinRequest;
use crate::protocol::{self, Encoding};
use crate::telemetry;

type Body = Full<Bytes>;

/// Initial WebSocket read buffer per connection.
const READ_BUFFER: usize = 4 * 1024;
/// Bytes buffered before tungstenite writes to the socket (a flush writes regardless).
const WRITE_BUFFER: usize = 8 * 1024;
/// Unsent bytes a connection may hold before writes fail and the client is dropped.
const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// What an accepted connection holds while it is open (and the WebSocket it becomes): its
/// `--max-connections` permit and its place among its address's connections.
/// Held only to be dropped.
pub struct Admission {
    _permit: OwnedSemaphorePermit,
    _slot: AddressSlot,
}

impl Admission {
    pub fn new(permit: OwnedSemaphorePermit, slot: AddressSlot) -> Admission {
        Admission {
            _permit: permit,
            _slot: slot,
        }
    }
}

/// Why a connection was refused as soon as it was accepted, before its request was read.
#[derive(Debug, thiserror::Error)]
pub enum EarlyRefusal {
    #[error("the server is full ({max} connections); try again later")]
    ServerFull { max: u32 },
    #[error(transparent)]
    Address(AddressRefusal),
}

/// Answer a refused connection in plain HTTP (`503` when the server is full, `429` when
/// its address is at its cap, each with `Retry-After`) and close it. Whatever the client
/// sent meanwhile is read and dropped until it closes (at most a second), so that closing
/// does not reset the connection before the client has read the answer.
pub async fn refuse_early(mut stream: TcpStream, refusal: EarlyRefusal) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (status, retry_after, body) = match &refusal {
        EarlyRefusal::ServerFull { .. } => (
            "503 Service Unavailable",
            5,
            format!("ballroom: {refusal}\n"),
        ),
        EarlyRefusal::Address(a) => (
            "429 Too Many Requests",
            a.retry_after_secs(),
            address_refusal_body(a),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nRetry-After: {retry_after}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

/// Serve one accepted connection (plain TCP or TLS), holding its admission until it (or the
/// WebSocket it becomes) ends.
pub async fn serve<I>(server: Arc<ServerState>, stream: I, peer: SocketAddr, admission: Admission)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shutdown = server.host.shutdown.clone();
    let admission = Arc::new(admission);
    let service = service_fn(move |req| {
        let server = server.clone();
        let admission = admission.clone();
        async move { Ok::<_, Infallible>(route(server, peer, req, admission).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => if let Err(e) = res { debug!(%peer, error = %e, "http connection ended") },
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(1), conn).await;
        }
    }
}

async fn route(
    server: Arc<ServerState>,
    peer: SocketAddr,
    req: Request<Incoming>,
    admission: Arc<Admission>,
) -> Response<Body> {
    if is_upgrade(&req) {
        return upgrade(server, peer, req, admission);
    }
    // Every plain request, keep-alive or not, spends a token of its address (a trusted
    // proxy's unnamed clients, like their handshakes, are left to the global limits).
    let client = server.proxies.client(peer.ip(), req.headers());
    if let Err(over) = server.http_requests.spend(client) {
        return over_budget(&over);
    }
    // Behind a proxy that forwards its prefix whole (the tutorial's `location /broadcast {
    // proxy_pass http://127.0.0.1:8080; }`), the viewer at `/broadcast/` asks for
    // `/broadcast/viewer.js` and `/broadcast/rooms`: plain endpoints answer under any
    // directory, named by the path's last segment.
    let (mount, endpoint) = plain_endpoint(req.uri().path());
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        if let Some(asset) = viewer::asset(&format!("/{endpoint}")) {
            return viewer::respond(asset, mount, req.headers());
        }
        if let Some(res) = super::model_files::respond(&server, req.uri().path(), req.headers()) {
            return res;
        }
    }
    match (req.method(), endpoint) {
        (&Method::GET, "healthz") => match &server.host.cluster {
            None => json(StatusCode::OK, r#"{"status":"ok"}"#.to_owned()),
            Some(cluster) => {
                let (status, body) = super::cluster_http::health(cluster);
                json(status, body)
            }
        },
        (&Method::GET, "rooms" | "metrics") if let Err(e) = operator(&server.host.config, &req) => {
            refuse(&e)
        }
        (&Method::GET, "rooms") => match &server.host.cluster {
            None => json(
                StatusCode::OK,
                protocol::encode_rooms(&server.host.rooms.summaries()),
            ),
            Some(cluster) => {
                let (status, body) = super::cluster_http::rooms(&server, cluster).await;
                json(status, body)
            }
        },
        (&Method::GET, "metrics") => {
            let mut body = telemetry::render();
            body.push_str(&server.addresses.render_recent());
            let mut res = Response::new(Body::from(body));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            res
        }
        _ => text(
            StatusCode::UPGRADE_REQUIRED,
            "ballroom: connect with a WebSocket client to ws://HOST/<room>; \
             plain HTTP serves GET / (the live viewer), GET /assets/... (scene models), GET /healthz, \
             GET /rooms and GET /metrics (under any directory, for a proxy that forwards its prefix)\n",
        ),
    }
}

/// A plain request's path split into its directory (`/broadcast/`, or `/`) and its last
/// segment, which names the endpoint (`""` the viewer's page, `viewer.js`, `rooms`, …).
fn plain_endpoint(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// The comma-separated tokens of every `name` header, trimmed.
fn header_tokens(req: &Request<Incoming>, name: header::HeaderName) -> impl Iterator<Item = &str> {
    req.headers()
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

fn is_upgrade(req: &Request<Incoming>) -> bool {
    let has_token =
        |name, token: &str| header_tokens(req, name).any(|t| t.eq_ignore_ascii_case(token));
    req.method() == Method::GET
        && has_token(header::CONNECTION, "upgrade")
        && has_token(header::UPGRADE, "websocket")
}

fn upgrade(
    server: Arc<ServerState>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
    admission: Arc<Admission>,
) -> Response<Body> {
    // Every upgrade request, well-formed or not, spends a handshake of its address.
    let client = server.proxies.client(peer.ip(), req.headers());
    let client_slot = match admit_handshake(&server, client) {
        Ok(slot) => slot,
        Err(refusal) => return too_many(&refusal),
    };
    let headers = req.headers();
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        let mut res = text(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported WebSocket version\n",
        );
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return res;
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
    };
    let accept = derive_accept_key(key.as_bytes());
    // Binary snapshots when the client offers `ballroom.v2` (even beside `ballroom.v1`).
    let offered =
        |name: &str| header_tokens(&req, header::SEC_WEBSOCKET_PROTOCOL).any(|p| p == name);
    let subprotocol = Encoding::PREFERENCE
        .into_iter()
        .find(|e| offered(e.subprotocol()));
    let mut join = JoinRequest::parse(
        req.uri().path(),
        req.uri().query(),
        subprotocol,
        server.host.config.max_room_name,
    );
    // Origin and token are settled here, before any room state is touched.
    match check_access(&server.host.config, &req, join.as_ref().ok()) {
        Ok(player) => {
            if let Ok(j) = &mut join {
                j.player = player;
            }
        }
        Err(e) => return refuse(&e),
    }

    let on_upgrade = hyper::upgrade::on(&mut req);
    // tungstenite's 128 KiB read and write buffers per connection would make 10,000
    // connections cost over a gigabyte; game messages are small, so start small (buffers
    // still grow for a large message) and cap what may pile up unsent.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER.max(server.host.config.max_message_size * 2))
        .max_message_size(Some(server.host.config.max_message_size))
        .max_frame_size(Some(server.host.config.max_message_size));
    let tasks = server.host.tasks.clone();
    tasks.spawn(async move {
        let _held = (admission, client_slot);
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config)).await;
                connection::serve(server, ws, join, peer, client).await;
            }
            Err(e) => debug!(%peer, error = %e, "upgrade failed"),
        }
    });

    let mut res = Response::new(Body::default());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    if let Some(encoding) = subprotocol {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(encoding.subprotocol()),
        );
    }
    res
}

/// Spend a handshake of the client's address. A client behind a trusted proxy also takes
/// its place among its address's connections here: the proxy's connection was not counted
/// when it was accepted, since it carries many clients.
fn admit_handshake(
    server: &ServerState,
    client: ClientAddress,
) -> Result<AddressSlot, AddressRefusal> {
    server.addresses.handshake(client)?;
    if client.via_proxy() {
        server.addresses.open(client)
    } else {
        Ok(AddressSlot::uncounted())
    }
}

/// `429 Too Many Requests` with `Retry-After`, closing the connection (a direct client's
/// connection holds a place among its address's connections).
fn too_many(refusal: &AddressRefusal) -> Response<Body> {
    too_many_requests(address_refusal_body(refusal), refusal.retry_after_secs())
}

/// `429 Too Many Requests` for a plain request over its address's budget, closing the
/// connection (so a keep-alive flood ends with it).
fn over_budget(over: &OverBudget) -> Response<Body> {
    let body = format!(
        "ballroom: {over} [{}]; try again in {} s\n",
        over.kind.label(),
        over.retry_after_secs()
    );
    too_many_requests(body, over.retry_after_secs())
}

/// `429 Too Many Requests`: `body` as plain text, `Retry-After: retry_after` and
/// `Connection: close`.
fn too_many_requests(body: String, retry_after: u64) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// With `--auth-secret`, `/rooms` and `/metrics` are the operator's: they need a token
/// for every room (`"room":"*"`), as `Authorization: Bearer <token>` or `?token=`. A
/// player's token for some rooms is refused with 403, no token with 401.
fn operator(config: &crate::Config, req: &Request<Incoming>) -> Result<(), AuthError> {
    let Some(secret) = &config.auth_secret else {
        return Ok(());
    };
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let token = from_header
        .or_else(|| query_token(req))
        .ok_or(AuthError::Missing)?;
    auth::verify(secret, &token, "*", auth::now()).map(|_| ())
}

/// The `token=` of the request's query.
fn query_token(req: &Request<Incoming>) -> Option<String> {
    req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(str::to_owned)
    })
}

/// The body of a 429: what was exceeded, its label, and when to come back.
fn address_refusal_body(refusal: &AddressRefusal) -> String {
    format!(
        "ballroom: {refusal} [{}]; try again in {} s\n",
        refusal.label(),
        refusal.retry_after_secs()
    )
}

/// Check the handshake's `Origin` and, with `--auth-secret`, its token. Returns the
/// token's player id.
fn check_access(
    config: &crate::Config,
    req: &Request<Incoming>,
    join: Option<&JoinRequest>,
) -> Result<Option<String>, AuthError> {
    if !config.allowed_origins.is_empty() {
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            if !config.allowed_origins.iter().any(|o| o == origin) {
                return Err(AuthError::Origin(origin.to_owned()));
            }
        }
    }
    let Some(secret) = &config.auth_secret else {
        return Ok(None);
    };
    let from_query = query_token(req);
    let from_subprotocol = || {
        header_tokens(req, header::SEC_WEBSOCKET_PROTOCOL)
            .find_map(|p| p.strip_prefix(auth::BEARER_PREFIX))
            .map(str::to_owned)
    };
    let token = from_query
        .or_else(from_subprotocol)
        .ok_or(AuthError::Missing)?;
    let room = join.map_or(req.uri().path(), |j| j.room.as_str());
    let claims = auth::verify(secret, &token, room, auth::now())?;
    Ok(Some(claims.sub))
}

fn refuse(e: &AuthError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status()).expect("401 and 403 are status codes");
    debug!(status = e.status(), error = %e, "handshake refused");
    metrics::counter!(telemetry::REJECTED, "reason" => if e.status() == 401 { "unauthorized" } else { "forbidden" })
        .increment(1);
    let mut res = Response::new(Body::from(format!("ballroom: {e}\n")));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if e.status() == 401 {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::plain_endpoint;

    #[test]
    fn a_plain_endpoint_is_the_last_segment_under_any_directory() {
        assert_eq!(plain_endpoint("/"), ("/", ""));
        assert_eq!(plain_endpoint("/rooms"), ("/", "rooms"));
        assert_eq!(plain_endpoint("/broadcast/"), ("/broadcast/", ""));
        assert_eq!(
            plain_endpoint("/broadcast/viewer.js"),
            ("/broadcast/", "viewer.js")
        );
        assert_eq!(plain_endpoint("/a/b/metrics"), ("/a/b/", "metrics"));
        assert_eq!(plain_endpoint("/broadcast"), ("/", "broadcast"));
    }
}
