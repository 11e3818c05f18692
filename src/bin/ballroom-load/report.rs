//! The JSON summary on stdout, typed. It is printed through a `serde_json::Value`, whose
//! objects keep their keys sorted, so the output has the same keys, shape and order as
//! when it was built by hand with `json!`.

use serde::Serialize;

use crate::args::{Encoding, LoadMode};
use crate::context::Ctx;
use crate::own_cpu::LoadToolCpu;
use crate::proc_stat::CLK_TCK;
use crate::server_watch::ServerFigures;
use crate::soak::SoakReport;
use crate::startup::Prepared;
use crate::stats::{
    ClientStats, Distribution, KickCounts, SnapshotCounts, Tally, describe, round3, with_gaps,
};

#[derive(Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub mode: &'static str,
    pub params: Params,
    pub connections: Connections,
    pub frames_received: u64,
    pub bytes_per_client_per_s: BytesPerClient,
    /// Physics and soak mode.
    pub kicks: Option<SteadyKicks>,
    /// Errors not caused by a kick, by code (physics and soak mode).
    pub other_errors: Option<Tally>,
    /// The steady (playing) clients' snapshots; spectators have their own section.
    pub snapshots: Option<SteadySnapshots>,
    /// With `--spectators` (null without).
    pub spectators: Option<SpectatorsReport>,
    /// Relay mode.
    pub relay: Option<RelayFigures>,
    /// With `--server-pid`.
    pub server: Option<ServerReport>,
    /// This tool's own CPU over the window, always.
    pub load_tool: LoadToolCpu,
    /// Soak mode only (the key is left out otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soak: Option<SoakReport>,
}

/// The options the run used (those of other modes are null).
#[derive(Serialize)]
pub struct Params {
    pub addr: String,
    pub target: String,
    pub allow_remote: bool,
    pub clients: u32,
    pub rooms: u32,
    pub room_prefix: String,
    pub scene: Option<String>,
    pub encoding: Option<Encoding>,
    pub pose_rate: Option<f64>,
    pub kick_interval: Option<f64>,
    pub spectators: Option<u32>,
    pub impulse_min: Option<f64>,
    pub impulse_max: Option<f64>,
    pub senders: Option<u32>,
    pub msg_rate: Option<f64>,
    pub duration: f64,
    pub warmup: f64,
    pub connect_concurrency: u32,
    pub connect_timeout: f64,
    pub server_pid: Option<u32>,
    pub churners: Option<u32>,
    pub churn_stay: Option<f64>,
    pub slow: Option<u32>,
    pub slow_stall: Option<f64>,
    pub garbage: Option<u32>,
    pub garbage_pause: Option<f64>,
    pub settle: Option<f64>,
    pub seed: u64,
    pub fd_limit: Option<u64>,
    pub source_addresses: u32,
}

/// The connections of the steady clients (or, in their section, of the spectators).
#[derive(Serialize)]
pub struct Connections {
    pub attempted: usize,
    pub connected: usize,
    pub failed: usize,
    pub failures: Tally,
    pub welcomed: Option<usize>,
    pub ended_early: usize,
    pub ended_early_reasons: Tally,
    /// When the last client had connected, since the tool's start.
    pub ramp_ms: Option<f64>,
    pub abandoned_at_hard_deadline: usize,
}

impl Connections {
    /// `welcomed` is counted for physics clients only.
    fn of(stats: &[ClientStats], physics: bool, abandoned: usize) -> Connections {
        let connected = stats.iter().filter(|s| s.connected).count();
        Connections {
            attempted: stats.len(),
            connected,
            failed: stats.len() - connected,
            failures: stats
                .iter()
                .filter_map(|s| s.connect_error.clone())
                .collect(),
            welcomed: physics.then(|| stats.iter().filter(|s| s.welcomed).count()),
            ended_early: stats.iter().filter(|s| s.ended_early.is_some()).count(),
            ended_early_reasons: stats.iter().filter_map(|s| s.ended_early.clone()).collect(),
            ramp_ms: stats
                .iter()
                .filter(|s| s.connected)
                .filter_map(|s| s.connected_after)
                .max()
                .map(|d| round3(d.as_secs_f64() * 1000.0)),
            abandoned_at_hard_deadline: abandoned,
        }
    }
}

#[derive(Serialize)]
pub struct BytesPerClient {
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

impl BytesPerClient {
    /// Payload bytes a second received by each connected client over the window.
    fn of(stats: &[ClientStats], window: f64) -> BytesPerClient {
        let rates: Vec<f64> = stats
            .iter()
            .filter(|s| s.connected)
            .map(|s| s.bytes as f64 / window)
            .collect();
        BytesPerClient {
            mean: (!rates.is_empty())
                .then(|| round3(rates.iter().sum::<f64>() / rates.len() as f64)),
            max: (!rates.is_empty()).then(|| round3(rates.iter().copied().fold(0.0, f64::max))),
        }
    }
}

#[derive(Serialize)]
pub struct SteadyKicks {
    #[serde(flatten)]
    pub counts: KickCounts,
    pub unacked: u64,
    pub latency_ms: Distribution,
}

#[derive(Serialize)]
pub struct SteadySnapshots {
    #[serde(flatten)]
    pub counts: SnapshotCounts,
    pub tick_jitter_ms: Distribution,
    pub clients_with_gaps: usize,
    pub size: SnapshotSize,
}

/// What snapshots cost on the wire, over every steady client's snapshots in the window.
#[derive(Serialize)]
pub struct SnapshotSize {
    pub frames: u64,
    /// Mean payload bytes of one snapshot frame.
    pub bytes_per_snapshot: Option<f64>,
    /// Mean payload bytes per ball carried (a snapshot's bytes over its ball count).
    pub bytes_per_ball: Option<f64>,
    /// The share of those balls that were moving (not asleep).
    pub moving_share: Option<f64>,
}

impl SnapshotSize {
    fn of(stats: &[ClientStats]) -> SnapshotSize {
        let sum = |f: fn(&ClientStats) -> u64| stats.iter().map(f).sum::<u64>();
        let (frames, bytes) = (sum(|s| s.snapshot_frames), sum(|s| s.snapshot_bytes));
        let (balls, moving) = (sum(|s| s.snapshot_balls), sum(|s| s.snapshot_moving_balls));
        let ratio = |a: u64, b: u64| (b > 0).then(|| round3(a as f64 / b as f64));
        SnapshotSize {
            frames,
            bytes_per_snapshot: ratio(bytes, frames),
            bytes_per_ball: ratio(bytes, balls),
            moving_share: ratio(moving, balls),
        }
    }
}

#[derive(Serialize)]
pub struct RelayFigures {
    pub senders: u32,
    pub sent: u64,
    pub expected: u64,
    pub delivered: u64,
    pub delivery_ratio: Option<f64>,
    pub foreign_room_deliveries: u64,
    pub latency_ms: Distribution,
}

#[derive(Serialize)]
pub struct ServerReport {
    pub pid: Option<u32>,
    pub cpu_seconds: Option<f64>,
    pub cpu_seconds_per_100k_delivered: Option<f64>,
    pub peak_rss_kib: Option<u64>,
    pub vm_hwm_kib: Option<u64>,
    pub rss_samples: u64,
    pub clk_tck_assumed: f64,
    pub error: Option<String>,
}

impl Report {
    /// The summary of a run (a soak run's verdict is judged on it: [`crate::verdict`]),
    /// without spectators: the caller adds their section ([`SpectatorsReport`]).
    pub fn new(
        ctx: &Ctx,
        prepared: &Prepared,
        stats: &[ClientStats],
        server: Option<ServerFigures>,
        load_tool: LoadToolCpu,
        abandoned: usize,
        soak: Option<SoakReport>,
    ) -> Report {
        let a = &ctx.args;
        let physics = a.mode.physics();
        let connected: Vec<&ClientStats> = stats.iter().filter(|s| s.connected).collect();

        let kicks = physics.then(|| SteadyKicks {
            counts: KickCounts::of(stats),
            unacked: stats.iter().map(ClientStats::unacked).sum(),
            latency_ms: describe(stats.iter().map(|s| &s.kick_latency)),
        });
        let snapshots = physics.then(|| SteadySnapshots {
            counts: SnapshotCounts::of(stats),
            tick_jitter_ms: describe(stats.iter().map(|s| &s.tick_jitter)),
            clients_with_gaps: with_gaps(stats),
            size: SnapshotSize::of(stats),
        });
        let relay = (!physics).then(|| relay_figures(ctx, stats, &connected));
        let delivered = relay.as_ref().map(|r| r.delivered);

        let server = server.map(|f| ServerReport {
            pid: a.server_pid,
            cpu_seconds: f.cpu_seconds,
            cpu_seconds_per_100k_delivered: match (f.cpu_seconds, delivered) {
                (Some(cpu), Some(d)) if d > 0 => Some(round3(cpu * 100_000.0 / d as f64)),
                _ => None,
            },
            peak_rss_kib: f.peak_rss_kib,
            vm_hwm_kib: f.vm_hwm_kib,
            rss_samples: f.rss_samples,
            clk_tck_assumed: CLK_TCK,
            error: f.error,
        });

        let soak_mode = a.mode == LoadMode::Soak;
        Report {
            tool: "ballroom-load",
            mode: a.mode.name(),
            params: Params {
                addr: a.addr.clone(),
                target: prepared.target.to_string(),
                allow_remote: a.allow_remote,
                clients: a.clients,
                rooms: a.rooms,
                room_prefix: a.room_prefix.clone(),
                scene: physics.then(|| a.scene.clone()),
                encoding: physics.then_some(a.encoding),
                pose_rate: physics.then_some(a.pose_rate),
                kick_interval: physics.then_some(a.kick_interval),
                spectators: physics.then_some(a.spectators),
                impulse_min: physics.then_some(a.impulse_min),
                impulse_max: physics.then_some(a.impulse_max),
                senders: (!physics).then_some(a.senders),
                msg_rate: (!physics).then_some(a.msg_rate),
                duration: a.duration,
                warmup: a.warmup,
                connect_concurrency: a.connect_concurrency,
                connect_timeout: a.connect_timeout,
                server_pid: a.server_pid,
                churners: soak_mode.then_some(a.churners),
                churn_stay: soak_mode.then_some(a.churn_stay),
                slow: soak_mode.then_some(a.slow),
                slow_stall: soak_mode.then_some(a.slow_stall),
                garbage: soak_mode.then_some(a.garbage),
                garbage_pause: soak_mode.then_some(a.garbage_pause),
                settle: soak_mode.then_some(a.settle),
                seed: ctx.seed,
                fd_limit: prepared.fd_limit,
                source_addresses: prepared.source_addresses,
            },
            connections: Connections::of(stats, physics, abandoned),
            frames_received: stats.iter().map(|s| s.frames).sum(),
            bytes_per_client_per_s: BytesPerClient::of(stats, a.duration),
            kicks,
            other_errors: physics.then(|| Tally::merged(stats.iter().map(|s| &s.other_errors))),
            snapshots,
            spectators: None,
            relay,
            server,
            load_tool,
            soak,
        }
    }
}

/// The spectators (`--spectators`): their connections and the snapshots they got.
#[derive(Serialize)]
pub struct SpectatorsReport {
    pub count: u32,
    pub connections: Connections,
    pub snapshots: SpectatorSnapshots,
    pub bytes_per_spectator_per_s: BytesPerClient,
}

#[derive(Serialize)]
pub struct SpectatorSnapshots {
    /// Received, missed (binary spectators: see `--spectators` for the rule) and jitter.
    #[serde(flatten)]
    pub counts: SnapshotCounts,
    pub clients_with_gaps: usize,
    /// The longest time between two snapshots any spectator saw (the later one within the
    /// window), ms.
    pub max_gap_ms: Option<f64>,
}

impl SpectatorsReport {
    pub fn new(ctx: &Ctx, stats: &[ClientStats], abandoned: usize) -> SpectatorsReport {
        let max_gap = stats
            .iter()
            .map(|s| s.max_gap)
            .max()
            .filter(|d| !d.is_zero());
        SpectatorsReport {
            count: ctx.args.spectators,
            connections: Connections::of(stats, true, abandoned),
            snapshots: SpectatorSnapshots {
                counts: SnapshotCounts::of(stats),
                clients_with_gaps: with_gaps(stats),
                max_gap_ms: max_gap.map(|d| round3(d.as_secs_f64() * 1000.0)),
            },
            bytes_per_spectator_per_s: BytesPerClient::of(stats, ctx.args.duration),
        }
    }
}

fn relay_figures(ctx: &Ctx, stats: &[ClientStats], connected: &[&ClientStats]) -> RelayFigures {
    let mut room_size = vec![0u64; ctx.args.rooms as usize];
    for s in connected {
        room_size[s.room] += 1;
    }
    let expected: u64 = stats.iter().map(|s| s.relay_sent * room_size[s.room]).sum();
    let delivered: u64 = stats.iter().map(|s| s.delivered).sum();
    RelayFigures {
        senders: ctx.args.senders,
        sent: stats.iter().map(|s| s.relay_sent).sum(),
        expected,
        delivered,
        delivery_ratio: (expected > 0).then(|| delivered as f64 / expected as f64),
        foreign_room_deliveries: stats.iter().map(|s| s.foreign).sum(),
        latency_ms: describe(stats.iter().map(|s| &s.relay_latency)),
    }
}
