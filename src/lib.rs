//! ballroom: a server-authoritative physics service for browser and metaverse scenes.
//!
//! Each room (named by the WebSocket URL path) owns a rapier3d world stepped at a fixed
//! tick. Clients send kicks; the server validates them, applies them as impulses and
//! broadcasts authoritative snapshots. Messages the server does not own are relayed to the
//! room, so scenes written for a generic broadcast server keep working unchanged.
//!
//! # Layout
//!
//! - [`protocol`]: every wire type and codec (JSON); the only module that knows formats.
//! - [`scene`]: scene files (`assets/scenes/*.json`), embedded and validated.
//! - [`room`]: the simulation of one room. Synchronous, no I/O: apply inputs, step,
//!   make snapshots. Tests and benches drive it directly.
//! - [`clock`]: the fixed-timestep clock (no drift, bounded catch-up).
//! - [`server`]: transport. Accept loop, limits, HTTP front (`/healthz`, `/rooms`,
//!   `/metrics`, upgrades),
//!   per-connection reader and writer, the room task that owns each [`room::Room`], and
//!   graceful shutdown. Knows nothing of physics beyond calling the room.
//! - [`game`]: the match state machine (teams, countdown, clock, score, result), driven by
//!   the room's ticks.
//! - [`auth`]: handshake tokens (HS256 JWT) and origin checks.
//! - [`telemetry`]: Prometheus series behind `GET /metrics`.
//! - [`config`]: flags and environment variables.
//!
//! See `ARCHITECTURE.md` for the invariants and `docs/PROTOCOL.md` for the protocol.

pub mod auth;
pub mod clock;
pub mod config;
pub mod game;
pub mod protocol;
pub mod room;
pub mod scene;
pub mod server;
pub mod telemetry;

pub use config::{Config, Mode};
