//! Transport: sockets, HTTP, TLS, the per-address limits and each WebSocket connection.
//! It knows nothing of physics nor of rooms' insides: a connection hands each decoded
//! command to its room through the [`host`](crate::host), and writes what the room puts
//! in its mailbox (`outbox.rs`) to the socket.
//!
//! - `accept.rs`: [`bind`], [`run`] (start-up in named steps, the accept loop, graceful
//!   shutdown).
//! - `client_address.rs`: whose connection it is: the peer, or the client a trusted proxy
//!   names.
//! - `address_limits.rs`: the per-address limits: connections open and a token bucket of
//!   handshakes per client address, in one bounded table.
//! - `address_budget.rs`: token buckets per client address of plain HTTP requests and of
//!   rooms opened.
//! - `http.rs`: the HTTP/1.1 front: upgrades, `/healthz`, `/rooms`, `/metrics`, and the
//!   viewer's `GET /` (`viewer.rs`, `model_files.rs`, `cluster_http.rs`).
//! - `connection.rs`: one WebSocket ([`connection::Connection::run`]): its reader, message
//!   budget and idle timeout.
//! - `outbox.rs`: one client's outbound queue and latest-snapshot slot (the host's
//!   [`Mailbox`](crate::host::Mailbox)), and its writer task.
//! - `disconnect.rs`: [`DisconnectReason`], the one list of why a connection ends and the
//!   close frame each reason sends.
//! - `scene_reload.rs`: reloading `--assets` on SIGHUP or when its files change.
//! - `tls/`: native TLS (rustls): the certificate every handshake presents (`mod.rs`), and
//!   reloading it on SIGHUP or when its files change (`reload.rs`).

mod accept;
mod address_budget;
mod address_limits;
mod client_address;
mod cluster_http;
mod connection;
mod disconnect;
mod http;
mod model_files;
pub mod outbox;
mod scene_reload;
mod startup;
mod tls;
mod viewer;

pub use accept::{bind, run};
pub use disconnect::DisconnectReason;
pub use startup::StartError;
pub use tls::TlsError;

use std::sync::Arc;

use crate::host::Host;
use address_budget::AddressBudget;
use address_limits::AddressLimits;
use client_address::TrustedProxies;

/// What every connection of one server shares: the host its rooms live in, and the
/// transport's own limits.
pub struct ServerState {
    pub host: Arc<Host>,
    /// `--trusted-proxies`: whose client-address header is believed.
    proxies: TrustedProxies,
    /// Connections and handshakes per client address.
    addresses: Arc<AddressLimits>,
    /// Plain HTTP requests per client address (`--http-requests-per-ip`).
    http_requests: AddressBudget,
    /// Rooms opened per client address (`--room-opens-per-ip`).
    room_opens: AddressBudget,
}

impl ServerState {
    fn new(host: Arc<Host>) -> Arc<ServerState> {
        let config = &host.config;
        let table = 2 * config.max_connections as usize + 1024;
        Arc::new(ServerState {
            proxies: TrustedProxies::new(config.trusted_proxies.nets(), config.real_ip_header),
            addresses: AddressLimits::new(config),
            http_requests: AddressBudget::new(
                address_budget::Kind::HttpRequests,
                config.http_requests_per_ip,
                config.http_burst,
                table,
            ),
            room_opens: AddressBudget::new(
                address_budget::Kind::RoomOpens,
                config.room_opens_per_ip,
                config.room_open_burst,
                table,
            ),
            host,
        })
    }
}
