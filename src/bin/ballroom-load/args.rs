//! The command line: every option, its default and its range.

use clap::{Parser, ValueEnum};

/// Most source addresses (`--source-addresses`): 127.0.1.1 to 127.0.254.254, 254 × 254.
pub const MAX_SOURCE_ADDRESSES: u32 = 254 * 254;

/// The snapshot encoding physics clients ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Json,
    Binary,
}

/// Most clients one run may open.
const MAX_CLIENTS: u32 = 20_000;

/// Load generator for a running ballroom server (or any WebSocket broadcast server in relay
/// mode). Prints progress to stderr once a second and one JSON summary to stdout.
#[derive(Parser, Debug, Clone)]
#[command(name = "ballroom-load", version, after_help = EXAMPLES)]
pub struct Args {
    /// `physics`: protocol clients that stand by a ball and kick it, measuring
    /// kick-to-snapshot latency, snapshot jitter and gaps. `relay`: plain clients, some of
    /// them sending JSON the server relays to the room, measuring delivery and latency.
    /// `soak`: `physics` clients for the whole window among churning, slow and garbage
    /// clients, with the server's gauges and memory sampled before, during and after.
    #[arg(long, value_enum, default_value_t = LoadMode::Physics)]
    pub mode: LoadMode,

    /// Server address, HOST:PORT. Names are resolved first; only loopback addresses
    /// (127.0.0.0/8, ::1) are accepted unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,

    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,

    /// Number of WebSocket clients (at most 20000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=MAX_CLIENTS as i64))]
    pub clients: u32,

    /// Number of rooms; client i joins room i mod ROOMS.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=MAX_CLIENTS as i64))]
    pub rooms: u32,

    /// Room names are PREFIX<i> (a leading `/` is added if missing).
    #[arg(long, default_value = "/load-")]
    pub room_prefix: String,

    /// Scene requested with `?scene=` (physics mode).
    #[arg(long, default_value = "kickballs")]
    pub scene: String,

    /// How physics clients take snapshots: `json` (ballroom.v1) or `binary` (ballroom.v2,
    /// decoded with the crate's decoder).
    #[arg(long, value_enum, default_value_t = Encoding::Json)]
    pub encoding: Encoding,

    /// Player pose reports per second per client (physics mode; 0 = none).
    #[arg(long, default_value_t = 5.0, value_parser = rate_or_zero)]
    pub pose_rate: f64,

    /// Seconds between one client's kicks (physics mode); the first kick comes at a random
    /// offset so that clients do not synchronise.
    #[arg(long, default_value_t = 2.0, value_parser = positive)]
    pub kick_interval: f64,

    /// Smallest kick impulse, N·s (physics mode). The horizontal part of a kick aims the
    /// ball at a random point within 1 m of where it was when the client arrived, sized to
    /// get it there; the rest of the magnitude goes straight up, so the ball stays within
    /// reach of kickers who never move.
    #[arg(long, default_value_t = 5.0, value_parser = positive)]
    pub impulse_min: f64,

    /// Largest kick impulse, N·s (physics mode; kickballs allows 150).
    #[arg(long, default_value_t = 15.0, value_parser = positive)]
    pub impulse_max: f64,

    /// Spectators besides --clients (physics mode only; clients and spectators together at
    /// most 20000): spectator j joins room j mod ROOMS with the players' query plus
    /// `spectate=1`, never sends, and counts snapshots, missed snapshots, jitter and the
    /// longest gap between two snapshots. JSON spectators read `tick` and
    /// `balls[].sleeping` and count as players do. A binary spectator reads only each
    /// frame's header (a delta must name the last snapshot it got, else it ends with an
    /// error) and so cannot see a room at rest: a gap of tick_rate ticks (one second) or
    /// more is taken for the at-rest cadence, and neither it nor the gap after it (the room
    /// may wake on any tick) counts; any other gap of G ticks counts ceil(G / interval) - 1
    /// missed snapshots.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=MAX_CLIENTS as i64))]
    pub spectators: u32,

    /// Clients that send messages (relay mode), spread over the rooms.
    #[arg(long, default_value_t = 1)]
    pub senders: u32,

    /// Messages per second per sender (relay mode).
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    pub msg_rate: f64,

    /// Length of the measurement window, seconds.
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    pub duration: f64,

    /// Seconds of connecting and running before measurements start.
    #[arg(long, default_value_t = 2.0, value_parser = rate_or_zero)]
    pub warmup: f64,

    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_concurrency: u32,

    /// Local addresses the clients connect from, in turn: 127.0.1.1, 127.0.1.2, … (an IPv4
    /// loopback target only). The server limits each client address (by default 256
    /// connections, 100 handshakes back to back, 20 a second), so a crowd must come from a
    /// crowd of addresses. Default: one address per 50 clients (spectators and churning,
    /// slow and garbage ones included) against an IPv4 loopback target, else 1 (the system
    /// picks).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_SOURCE_ADDRESSES as i64))]
    pub source_addresses: Option<u32>,

    /// Seconds one connection attempt may take.
    #[arg(long, default_value_t = 10.0, value_parser = positive)]
    pub connect_timeout: f64,

    /// PID of the server process (same machine): report its CPU seconds and memory over
    /// the measurement window, from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Seed for kick timing and directions (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Churning clients (soak mode): each joins a random room (one of 2 × ROOMS, so that
    /// rooms open and close too), stays a while, leaves (one time in four by dropping the
    /// socket without a close frame) and comes back, until the window ends. Half the
    /// sessions are physics clients checked like the steady ones, half plain clients that
    /// check the echo of every message they relay.
    #[arg(long, default_value_t = 20)]
    pub churners: u32,

    /// Mean seconds a churning client stays in a room (soak mode).
    #[arg(long, default_value_t = 3.0, value_parser = positive)]
    pub churn_stay: f64,

    /// Slow clients (soak mode): each joins one of the steady rooms with a 4 KiB receive
    /// buffer and stops reading for --slow-stall seconds, then reads what is left to see
    /// whether the server closed it as too slow; then again, until the window ends.
    #[arg(long, default_value_t = 5)]
    pub slow: u32,

    /// Seconds a slow client stops reading (soak mode).
    #[arg(long, default_value_t = 20.0, value_parser = positive)]
    pub slow_stall: f64,

    /// Garbage clients (soak mode): each opens connection after connection, sending one
    /// kind of bad input per connection in turn (raw bytes instead of HTTP, a bad
    /// handshake, malformed and invalid commands, a message flood, an oversized message,
    /// invalid UTF-8), and checks the server's answer.
    #[arg(long, default_value_t = 5)]
    pub garbage: u32,

    /// Seconds a garbage client waits between connections (soak mode).
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub garbage_pause: f64,

    /// Seconds to wait after the run for the server's connection, room and task gauges to
    /// return to where they were before it (soak mode; cover the server's --room-linger).
    #[arg(long, default_value_t = 45.0, value_parser = rate_or_zero)]
    pub settle: f64,
}

const EXAMPLES: &str = "Examples:
  ballroom-load --clients 200 --rooms 20 --duration 10 --server-pid $(pidof ballroom)
  ballroom-load --mode relay --clients 100 --rooms 1 --senders 10 --msg-rate 20
  ballroom-load --clients 20 --spectators 2000 --rooms 1 --encoding binary --warmup 15
  ballroom-load --mode soak --clients 100 --rooms 10 --duration 600 --server-pid $(pidof ballroom)

Physics clients stand 0.5 m from a ball's surface and kick it; the kick's latency is the time
until the first snapshot whose acks[<client id>] reaches its seq. Relay clients connect with
?echo=true and count every message of their room (sender included). Soak mode reads the
server's /metrics before, during and after the run (plain HTTP on --addr), prints its verdict
on stderr and exits 1 if a check failed.";

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LoadMode {
    Physics,
    Relay,
    Soak,
}

impl LoadMode {
    pub fn name(self) -> &'static str {
        match self {
            LoadMode::Physics => "physics",
            LoadMode::Relay => "relay",
            LoadMode::Soak => "soak",
        }
    }

    /// Whether the steady clients are physics clients.
    pub fn physics(self) -> bool {
        matches!(self, LoadMode::Physics | LoadMode::Soak)
    }
}

fn positive(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 1e6 {
        Ok(v)
    } else {
        Err("must be a number above 0".into())
    }
}

fn rate_or_zero(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && (0.0..=1e6).contains(&v) {
        Ok(v)
    } else {
        Err("must be a number of at least 0".into())
    }
}

impl Args {
    /// Checks across options that clap cannot express.
    pub fn check(&self) -> Result<(), String> {
        if self.rooms > self.clients {
            return Err(format!(
                "--rooms ({}) must not exceed --clients ({})",
                self.rooms, self.clients
            ));
        }
        if self.spectators > 0 && self.mode != LoadMode::Physics {
            return Err(format!(
                "--spectators is for physics mode only, not {} mode",
                self.mode.name()
            ));
        }
        if u64::from(self.clients) + u64::from(self.spectators) > u64::from(MAX_CLIENTS) {
            return Err(format!(
                "--clients ({}) and --spectators ({}) together must not exceed {MAX_CLIENTS}",
                self.clients, self.spectators
            ));
        }
        if self.impulse_min > self.impulse_max {
            return Err("--impulse-min must not exceed --impulse-max".into());
        }
        if self.mode == LoadMode::Relay && (self.senders == 0 || self.senders > self.clients) {
            return Err(format!(
                "--senders must be between 1 and --clients ({})",
                self.clients
            ));
        }
        if !self
            .room_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c))
        {
            return Err("--room-prefix may use only letters, digits and / - _ . ~".into());
        }
        if !self
            .scene
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err("--scene may use only letters, digits and - _ .".into());
        }
        Ok(())
    }

    /// Sockets the run may hold at once beyond the steady clients (spectators, soak
    /// populations).
    pub fn extra_clients(&self) -> u64 {
        let soak = if self.mode == LoadMode::Soak {
            u64::from(self.churners) + u64::from(self.slow) + u64::from(self.garbage)
        } else {
            0
        };
        u64::from(self.spectators) + soak
    }
}
