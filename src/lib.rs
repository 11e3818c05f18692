//! ballroom: a server-authoritative physics service for browser and metaverse scenes.
//!
//! Each room (named by the WebSocket URL path) owns a rapier3d world stepped at a fixed
//! tick. Clients send kicks; the server validates them, applies them as impulses and
//! broadcasts authoritative snapshots. Messages the server does not own are relayed to the
//! room, so scenes written for a generic broadcast server keep working unchanged.
//!
//! # Layout
//!
//! Dependencies point one way, from the edge inwards:
//!
//! ```text
//!   main ─► server ─► host ─► protocol ─► room ─► rules ─► ids
//!                      │         └──────► scene   └─► scene ─► rules
//!                      ├─► persist ─► room, scene, ids
//!                      ├─► cluster ─► telemetry
//!              └───────┴─► clock, auth, telemetry, config
//! ```
//!
//! - [`ids`]: identifiers shared by scenes, the simulation and the wire (a leaf).
//! - [`rules`]: a room's game rules in JavaScript, sandboxed (QuickJS): hooks in, actions
//!   out. Knows only its API.
//! - [`scene`]: scene files (`assets/scenes/*.json`), embedded and validated, with their
//!   rules files (`assets/rules/*.js`).
//! - [`room`]: the simulation of one room, with its rules. Synchronous, no I/O; one input
//!   ([`room::Room::apply`]) and one output ([`room::Effects`], also from
//!   [`room::Room::tick`]). Tests and benches drive it directly.
//! - [`rules`]: a room's game rules in JavaScript, sandboxed (QuickJS): hooks in, actions
//!   out; no I/O. Imports only [`ids`]; not yet wired into the room.
//! - [`clock`]: the fixed-timestep clock (no drift, bounded catch-up).
//! - [`protocol`]: the wire layer, the only module that knows formats: it decodes client
//!   frames into room inputs and encodes the room's effects, and owns the error codes.
//! - [`persist`]: a saved room as bytes (the one format for `--state-dir` and the
//!   cluster's store), and the state directory that keeps rooms across a restart.
//! - [`cluster`]: with `--nats`, rooms across nodes: NATS connection, room leases,
//!   saved rooms in JetStream, node heartbeats. Knows rooms by name, subjects and bytes.
//! - [`host`]: the room host: one task per room, the single owner of its [`room::Room`],
//!   one type per role (a room on this node, the owner's additions in a cluster, the
//!   follower, the room without physics), the registry of open rooms, and the mailbox
//!   through which a room hands each member its frames. Never touches a socket.
//! - [`server`]: transport. Start-up, accept loop, limits, TLS, HTTP front (`/healthz`,
//!   `/rooms`, `/metrics`, upgrades), per-connection reader and writer, graceful shutdown.
//!   Knows nothing of physics nor of a room's insides.
//! - [`auth`]: handshake tokens (HS256 JWT).
//! - [`telemetry`]: Prometheus series behind `GET /metrics`.
//! - [`log_format`]: the binary's log fields, control characters escaped.
//! - [`config`]: flags and environment variables.
//!
//! See `ARCHITECTURE.md` for the invariants and `docs/PROTOCOL.md` for the protocol.

pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
#[cfg(test)]
mod doc_tables;
pub mod host;
pub mod ids;
pub mod log_format;
pub mod persist;
pub mod protocol;
pub mod room;
pub mod rules;
pub mod scene;
pub mod server;
pub mod telemetry;

pub use config::{Config, Mode};
