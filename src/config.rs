//! Server configuration: command-line flags, each with an environment-variable twin.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ipnet::IpNet;

use crate::auth::Secret;
use crate::room::SimConfig;
use crate::rules::RulesLimits;

/// ballroom: server-authoritative physics rooms over WebSocket, with a plain broadcast
/// fallback for scenes written for a generic broadcast server.
#[derive(Parser, Clone, Debug)]
#[command(version, about)]
pub struct Config {
    /// Address to listen on (WebSocket rooms and plain HTTP on the same port).
    #[arg(long, env = "BALLROOM_ADDR", default_value = "0.0.0.0:8080")]
    pub addr: SocketAddr,

    /// Physics steps per second in every room.
    #[arg(long, env = "BALLROOM_TICK_RATE", default_value_t = 60.0, value_parser = rate)]
    pub tick_rate: f64,

    /// Snapshots per second while anything moves (at rest: at most 1 per second).
    #[arg(long, env = "BALLROOM_SNAPSHOT_RATE", default_value_t = 20.0, value_parser = rate)]
    pub snapshot_rate: f64,

    /// Scene for rooms whose first client does not pick one with `?scene=`.
    #[arg(long, env = "BALLROOM_SCENE", default_value = "kickballs")]
    pub scene: String,

    /// `physics`: rooms run their scene. `broadcast`: no physics anywhere; every room is a
    /// relay (a drop-in for a generic broadcast server).
    #[arg(long, env = "BALLROOM_MODE", value_enum, default_value_t = Mode::Physics)]
    pub mode: Mode,

    /// Directory whose `scenes/*.json` add to or override the built-in scenes; their
    /// `models` are read from it too, and clients fetch those under `/assets/`.
    #[arg(long, env = "BALLROOM_ASSETS")]
    pub assets: Option<PathBuf>,

    /// Seconds between looks at --assets for changed files: scenes and models changed on
    /// disk are loaded for rooms created afterwards, as SIGHUP always does. Running rooms
    /// keep their scene; a scene that fails keeps its previous version, logged and
    /// counted. 0: reload on SIGHUP only.
    #[arg(long, env = "BALLROOM_ASSETS_RELOAD_INTERVAL", default_value = "10", value_parser = seconds)]
    pub assets_reload_interval: Duration,

    /// Memory of one room's rules (its JavaScript heap), in MiB. A hook that needs more
    /// fails alone (`docs/RULES.md`).
    #[arg(long, env = "BALLROOM_RULES_MEMORY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub rules_memory: u32,

    /// Milliseconds one hook of a room's rules may run; one that runs longer is stopped
    /// and fails alone (`docs/RULES.md`).
    #[arg(long, env = "BALLROOM_RULES_TIME", default_value = "5", value_parser = milliseconds)]
    pub rules_time: Duration,

    /// Seconds a room is kept after its last client leaves.
    #[arg(long, env = "BALLROOM_ROOM_LINGER", default_value = "30", value_parser = seconds)]
    pub room_linger: Duration,

    /// Largest accepted WebSocket message, in bytes; a larger one closes the
    /// connection with code 1009.
    #[arg(long, env = "BALLROOM_MAX_MESSAGE_SIZE", default_value_t = 64 * 1024)]
    pub max_message_size: usize,

    /// Messages (other than snapshots) that may wait for one client. A client whose
    /// backlog stays above this for longer than --slow-grace, or reaches 8 times this, is
    /// disconnected as too slow (1008). Snapshots do not count: a client only ever has the
    /// latest two pending.
    #[arg(long, env = "BALLROOM_CLIENT_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub client_queue: u32,

    /// Kernel send buffer of each client socket, in bytes (SO_SNDBUF; Linux doubles it for
    /// bookkeeping). Small on purpose: a client that stops reading then holds a few
    /// snapshots' worth of stale data in the kernel rather than megabytes, so it is
    /// skipped to the latest snapshot (and judged by --client-queue) within a second,
    /// instead of reading seconds-old state when it resumes. 0 leaves the kernel's
    /// autotuning in charge.
    #[arg(long, env = "BALLROOM_SEND_BUFFER", default_value_t = 64 * 1024)]
    pub send_buffer: u32,

    /// Seconds a client's backlog may stay above --client-queue (a burst of relayed
    /// messages that it is still reading) before it is disconnected as too slow.
    #[arg(long, env = "BALLROOM_SLOW_GRACE", default_value = "1", value_parser = seconds)]
    pub slow_grace: Duration,

    /// Most connections open at once (WebSocket and plain HTTP). One more is answered
    /// `503 Service Unavailable` and closed.
    #[arg(long, env = "BALLROOM_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Most connections open at once from one client address, so that one address
    /// cannot take all of --max-connections. A direct client's every TCP connection counts
    /// (WebSocket, plain HTTP, or not a word said yet); behind a proxy in
    /// --trusted-proxies, each WebSocket counts for the client address the proxy forwards.
    /// IPv6 clients count by their /64 network (one subscriber's allocation). One more is
    /// answered `429 Too Many Requests` (`Retry-After: 5`) and closed, while every other
    /// address still gets in. The default takes a venue or an office behind one NAT. 0: no
    /// limit.
    #[arg(long, env = "BALLROOM_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: u32,

    /// WebSocket handshakes one client address may make per second, sustained: a token
    /// bucket of --handshake-burst tokens, refilled at this rate (plain HTTP requests do not
    /// spend it). A handshake over the budget is answered `429 Too Many Requests`, with
    /// `Retry-After` saying when the next token is due. With the default burst, a venue of
    /// 200 players behind one NAT, all reconnecting at once after a restart, is back in
    /// within 5 s, while one address looping on connect gets 20 a second. 0: no limit.
    #[arg(long, env = "BALLROOM_HANDSHAKES_PER_IP", default_value_t = 20.0, value_parser = rate_or_off)]
    pub handshakes_per_ip: f64,

    /// Handshakes one client address may make back to back before --handshakes-per-ip
    /// applies.
    #[arg(long, env = "BALLROOM_HANDSHAKE_BURST", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub handshake_burst: u32,

    /// Plain HTTP requests (`/rooms`, `/metrics`, `/healthz`, the viewer's files; not
    /// WebSocket handshakes) one client address may make per second, sustained: a token
    /// bucket of --http-burst, refilled at this rate, over every request of every
    /// connection (keep-alive included). One over it is answered `429 Too Many Requests`
    /// with `Retry-After`, and its connection closed. The viewer polls twice every 2 s.
    /// 0: no limit.
    #[arg(long, env = "BALLROOM_HTTP_REQUESTS_PER_IP", default_value_t = 20.0, value_parser = rate_or_off)]
    pub http_requests_per_ip: f64,

    /// Plain HTTP requests one client address may make back to back.
    #[arg(long, env = "BALLROOM_HTTP_BURST", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_burst: u32,

    /// Rooms one client address may open per second, sustained (a join that finds its room
    /// open spends nothing): a token bucket of --room-open-burst. A join that would open
    /// one more gets `error` `too_many_rooms` (naming the address's budget) and close 1013,
    /// so that a few addresses cannot fill --max-rooms with lingering empty rooms. 0: no
    /// limit.
    #[arg(long, env = "BALLROOM_ROOM_OPENS_PER_IP", default_value_t = 1.0, value_parser = rate_or_off)]
    pub room_opens_per_ip: f64,

    /// Rooms one client address may open back to back.
    #[arg(long, env = "BALLROOM_ROOM_OPEN_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub room_open_burst: u32,

    /// Proxies whose --real-ip-header is believed: comma-separated CIDRs or addresses,
    /// `loopback` (127.0.0.0/8 and ::1: a proxy on this host, such as the tutorial's nginx)
    /// or `none`. A connection from one of them is not limited per address itself; each
    /// WebSocket handshake it forwards counts for the client the header names. A trusted
    /// proxy that names no client (the tutorial's nginx block) carries clients that cannot
    /// be told apart: the per-address limits leave them alone (--max-connections and every
    /// other global limit still hold) and the server logs once the nginx line that names
    /// them. From a peer not listed, the header is ignored, whatever it says: the limits
    /// count the peer's address.
    #[arg(long, env = "BALLROOM_TRUSTED_PROXIES", default_value = "loopback", value_parser = proxy_nets)]
    pub trusted_proxies: ProxyNets,

    /// The one header a trusted proxy names the client in. `x-real-ip`: the whole value is
    /// the address (nginx: `proxy_set_header X-Real-IP $remote_addr;`). `x-forwarded-for`:
    /// the rightmost address in the list that is not itself a trusted proxy (what a chain of
    /// proxies that each append builds). Only this header is read: a proxy passes on the
    /// other one as the client sent it, so trusting both would trust the client.
    #[arg(long, env = "BALLROOM_REAL_IP_HEADER", value_enum, default_value_t = RealIpHeader::XRealIp)]
    pub real_ip_header: RealIpHeader,

    /// Most rooms open at once (lingering empty rooms included). A join that would open
    /// one more gets `error` `too_many_rooms` and close code 1013 (try again later).
    #[arg(long, env = "BALLROOM_MAX_ROOMS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rooms: u32,

    /// Most clients in one room (a scene's `max_clients` may set a lower cap for its rooms).
    /// One more gets `error` `room_full` and close code 1013. The default takes a stadium:
    /// the broadcast servers ballroom replaces have no cap at all, and `--max-connections`
    /// still bounds the whole server.
    #[arg(long, env = "BALLROOM_MAX_CLIENTS_PER_ROOM", default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_clients_per_room: u32,

    /// Longest room name (the percent-decoded URL path), in bytes.
    #[arg(long, env = "BALLROOM_MAX_ROOM_NAME", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_room_name: u32,

    /// Messages a client may send per second, sustained (every frame counts: commands,
    /// relayed messages and WebSocket pings alike). Frames over the budget are dropped,
    /// answered with `error` `too_many_messages` (at most one a second); a client that
    /// stays over it for --flood-grace is closed (1008).
    #[arg(long, env = "BALLROOM_MAX_MESSAGE_RATE", default_value_t = 60.0, value_parser = rate)]
    pub max_message_rate: f64,

    /// Messages a client may send back to back before `--max-message-rate` applies.
    #[arg(long, env = "BALLROOM_MESSAGE_BURST", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..))]
    pub message_burst: u32,

    /// Seconds a client may stay over its message budget (--max-message-rate, pings
    /// included) before it is closed with 1008 "too many messages": a client whose frames
    /// keep being dropped, with no calm second between them, for this long is a flood.
    #[arg(long, env = "BALLROOM_FLOOD_GRACE", default_value = "3", value_parser = positive_seconds)]
    pub flood_grace: Duration,

    /// Seconds between WebSocket pings to each client.
    #[arg(long, env = "BALLROOM_PING_INTERVAL", default_value = "20", value_parser = seconds)]
    pub ping_interval: Duration,

    /// Seconds without any frame from a client (pongs included) before it is closed with
    /// 1008 "idle timeout". Dead and half-open connections end this way.
    #[arg(long, env = "BALLROOM_IDLE_TIMEOUT", default_value = "60", value_parser = seconds)]
    pub idle_timeout: Duration,

    /// Serve `wss://` and `https://` natively with this PEM certificate chain (with
    /// `--tls-key`). Without it the server speaks plain `ws://` (put TLS in a proxy).
    #[arg(long, env = "BALLROOM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key for `--tls-cert`.
    #[arg(long, env = "BALLROOM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Seconds between reads of --tls-cert and --tls-key (symlinks followed): contents other
    /// than those last tried are loaded for new connections, as SIGHUP always does. Open
    /// connections keep theirs; a pair that fails to load is logged and counted and the
    /// previous certificate stays. 0: reload on SIGHUP only.
    #[arg(long, env = "BALLROOM_TLS_RELOAD_INTERVAL", default_value = "60", value_parser = seconds)]
    pub tls_reload_interval: Duration,

    /// Require, at the WebSocket handshake, an HS256 JSON Web Token signed with this
    /// secret (at least 16 bytes), in `?token=` or a `bearer.<token>` subprotocol. Without
    /// it the server is open. Never logged.
    #[arg(long, env = "BALLROOM_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<Secret>,

    /// Browser origins allowed to open WebSockets, comma-separated (for example
    /// `https://play.decentraland.org`). Handshakes from other origins get 403; requests
    /// without an `Origin` header (non-browser clients) are allowed. Empty: any origin. An
    /// empty entry (`a,`, a stray comma) is refused at start: it would admit an empty
    /// `Origin`.
    #[arg(long, env = "BALLROOM_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = origin)]
    pub allowed_origins: Vec<String>,

    /// Keep rooms across a restart: at shutdown (SIGTERM, SIGINT) every physics room is
    /// written here, one file each (atomically: temporary file, fsync, rename), and at start
    /// every file is read back and removed. Clients resume with their tokens within
    /// --room-linger of the restart and find the room as it was: balls, match, score and
    /// clock. A file that cannot be read is moved aside as `*.bad-<time>` and reported;
    /// the start goes on.
    #[arg(long, env = "BALLROOM_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// Join a cluster through NATS with JetStream (`nats://HOST:4222`; nats-server must run
    /// with `-js`). Every node takes any client for any room: one node owns each physics
    /// room (a lease in JetStream's key-value store) and the others forward their clients'
    /// commands to it over NATS and deliver what it publishes. Without it, ballroom is a
    /// single process.
    #[arg(long, env = "BALLROOM_NATS", conflicts_with = "state_dir")]
    pub nats: Option<String>,

    /// This node's name in the cluster (in `/rooms` and the logs); default: the host name
    /// and a random suffix. Must be unique among the nodes.
    #[arg(long, env = "BALLROOM_NODE_ID", value_parser = node_id)]
    pub node_id: Option<String>,

    /// How long a room's lease lives unrenewed, in seconds: a node that dies loses its rooms
    /// this long after its last renewal, and another node restores them. Renewed every
    /// quarter of it; an owner that cannot renew for half of it stops simulating. Every
    /// node must use the same value.
    #[arg(long, env = "BALLROOM_LEASE_TTL", default_value = "3", value_parser = lease_ttl)]
    pub lease_ttl: Duration,

    /// How often an owner saves each of its rooms to the cluster's store, in seconds (and
    /// always at shutdown): what a crash can lose at most.
    #[arg(long, env = "BALLROOM_PERSIST_INTERVAL", default_value = "1", value_parser = positive_seconds)]
    pub persist_interval: Duration,

    /// Most ticks a room runs back to back to catch up after a stall; time beyond
    /// that is dropped (and logged) rather than replayed.
    #[arg(long, env = "BALLROOM_MAX_CATCH_UP", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_catch_up: u32,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Physics,
    Broadcast,
}

/// `--trusted-proxies`: the networks whose forwarding header is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyNets(pub Vec<IpNet>);

impl ProxyNets {
    /// `none`: no proxy is trusted; every peer is counted as itself.
    pub fn none() -> ProxyNets {
        ProxyNets(Vec::new())
    }

    /// `loopback`: a proxy on this host.
    pub fn loopback() -> ProxyNets {
        ProxyNets(vec![
            "127.0.0.0/8".parse().expect("a network"),
            "::1/128".parse().expect("a network"),
        ])
    }

    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }
}

/// Where a trusted proxy names the client (`--real-ip-header`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RealIpHeader {
    /// `X-Real-IP: <address>`.
    #[value(name = "x-real-ip")]
    XRealIp,
    /// `X-Forwarded-For: <client>, <proxy>, …`.
    #[value(name = "x-forwarded-for")]
    XForwardedFor,
}

impl Config {
    /// The embedded defaults, as if run with no flags and no environment.
    pub fn defaults() -> Config {
        Config::parse_from(["ballroom"])
    }

    pub fn sim(&self) -> SimConfig {
        SimConfig {
            tick_rate: self.tick_rate,
            snapshot_rate: self.snapshot_rate.min(self.tick_rate),
            rules: RulesLimits {
                memory: self.rules_memory as usize * 1024 * 1024,
                time: self.rules_time,
            },
            seed: 0,
        }
    }
}

fn rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 1000.0 {
        Ok(v)
    } else {
        Err("must be a number above 0 and at most 1000".into())
    }
}

/// A rate, or 0 for none.
fn rate_or_off(s: &str) -> Result<f64, String> {
    if s.trim().parse::<f64>() == Ok(0.0) {
        Ok(0.0)
    } else {
        rate(s).map_err(|e| format!("{e}, or 0 for no limit"))
    }
}

/// `--trusted-proxies`: `none`, or a comma-separated list of `loopback`, networks and
/// addresses.
fn proxy_nets(s: &str) -> Result<ProxyNets, String> {
    if s.trim() == "none" {
        return Ok(ProxyNets::none());
    }
    let mut nets = Vec::new();
    for item in s.split(',') {
        match item.trim() {
            "loopback" => nets.extend(ProxyNets::loopback().0),
            "" => return Err("an empty entry (two commas, or one at an end)".into()),
            "none" => return Err("`none` stands alone".into()),
            other => nets.push(cidr(other)?),
        }
    }
    Ok(ProxyNets(nets))
}

/// A network (`10.0.0.0/8`) or one address (`127.0.0.1`, as `/32`), IPv4-mapped IPv6
/// networks as IPv4 (the server compares canonical addresses).
fn cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(
            s.parse::<IpAddr>()
                .map_err(|_| format!("`{s}` is neither a CIDR (10.0.0.0/8) nor an address"))?,
        ),
    };
    Ok(match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(
                ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).expect("a prefix of at most 32"),
            ),
            None => net,
        },
        _ => net,
    }
    .trunc())
}

/// One entry of `--allowed-origins`, trimmed; never empty.
fn origin(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("an empty origin (a stray comma?) would admit an empty `Origin` header".into()),
        o => Ok(o.to_owned()),
    }
}

fn positive_seconds(s: &str) -> Result<Duration, String> {
    match seconds(s)? {
        d if d >= Duration::from_millis(10) => Ok(d),
        _ => Err("must be at least 0.01 seconds".into()),
    }
}

fn lease_ttl(s: &str) -> Result<Duration, String> {
    match seconds(s)? {
        d if d >= Duration::from_millis(400) => Ok(d),
        _ => Err("must be at least 0.4 seconds".into()),
    }
}

/// A node id: what NATS and the logs can carry plainly.
fn node_id(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(s.to_owned())
    } else {
        Err("1 to 64 of A-Z, a-z, 0-9, `-`, `_`, `.`".into())
    }
}

/// A positive number of milliseconds.
fn milliseconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_nan() || v <= 0.0 {
        return Err("must be more than 0".to_owned());
    }
    Duration::try_from_secs_f64(v / 1000.0).map_err(|e| format!("{e}"))
}

fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(v).map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_docs() {
        let c = Config::defaults();
        assert_eq!(c.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!((c.tick_rate, c.snapshot_rate), (60.0, 20.0));
        assert_eq!(c.scene, "kickballs");
        assert_eq!(c.mode, Mode::Physics);
        assert_eq!(c.room_linger, Duration::from_secs(30));
        assert_eq!(c.slow_grace, Duration::from_secs(1));
        assert_eq!(c.send_buffer, 65536);
        assert_eq!(c.tls_reload_interval, Duration::from_secs(60));
        assert_eq!(c.assets_reload_interval, Duration::from_secs(10));
        assert_eq!(c.max_connections_per_ip, 256);
        assert_eq!((c.handshakes_per_ip, c.handshake_burst), (20.0, 100));
        assert_eq!((c.http_requests_per_ip, c.http_burst), (20.0, 100));
        assert_eq!((c.room_opens_per_ip, c.room_open_burst), (1.0, 20));
        assert_eq!(c.flood_grace, Duration::from_secs(3));
        assert_eq!(c.trusted_proxies, ProxyNets::loopback());
        assert_eq!(c.real_ip_header, RealIpHeader::XRealIp);
    }

    #[test]
    fn trusted_proxies_are_networks_or_addresses() {
        let c = Config::try_parse_from([
            "b",
            "--trusted-proxies",
            "127.0.0.1/32, 10.1.2.3/8,::1,::ffff:192.168.0.0/112",
        ])
        .unwrap();
        let shown: Vec<String> = c
            .trusted_proxies
            .nets()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            shown,
            ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "192.168.0.0/16"]
        );
        for bad in ["10.0.0.0/33", "nginx", "10.0.0.1,", "none,loopback", ""] {
            assert!(
                Config::try_parse_from(["b", "--trusted-proxies", bad]).is_err(),
                "{bad:?} was taken"
            );
        }
        let none = Config::try_parse_from(["b", "--trusted-proxies", "none"]).unwrap();
        assert!(none.trusted_proxies.nets().is_empty());
        let both =
            Config::try_parse_from(["b", "--trusted-proxies", "loopback,172.17.0.1"]).unwrap();
        let shown: Vec<String> = both
            .trusted_proxies
            .nets()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(shown, ["127.0.0.0/8", "::1/128", "172.17.0.1/32"]);
    }

    #[test]
    fn per_address_limits_can_be_turned_off() {
        let c = Config::try_parse_from([
            "b",
            "--max-connections-per-ip",
            "0",
            "--handshakes-per-ip",
            "0",
            "--real-ip-header",
            "x-forwarded-for",
        ])
        .unwrap();
        assert_eq!((c.max_connections_per_ip, c.handshakes_per_ip), (0, 0.0));
        assert_eq!(c.real_ip_header, RealIpHeader::XForwardedFor);
        assert!(Config::try_parse_from(["b", "--handshakes-per-ip", "-1"]).is_err());
        assert!(Config::try_parse_from(["b", "--handshake-burst", "0"]).is_err());
    }

    #[test]
    fn the_auth_secret_is_never_shown() {
        let c = Config::try_parse_from(["b", "--auth-secret", "0123456789abcdef-secret"]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(Config::try_parse_from(["b", "--auth-secret", "short"]).is_err());
    }

    #[test]
    fn bad_rates_are_refused() {
        assert!(Config::try_parse_from(["b", "--tick-rate", "0"]).is_err());
        assert!(Config::try_parse_from(["b", "--tick-rate", "NaN"]).is_err());
        assert!(Config::try_parse_from(["b", "--room-linger", "-1"]).is_err());
        let c = Config::try_parse_from(["b", "--tick-rate", "30", "--mode", "broadcast"]).unwrap();
        assert_eq!((c.tick_rate, c.mode), (30.0, Mode::Broadcast));
    }
}
