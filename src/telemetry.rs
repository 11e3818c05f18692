//! Prometheus metrics: the series ballroom records and the recorder behind `GET /metrics`.
//!
//! The recorder is process-global (the `metrics` facade); [`handle`] installs it on first
//! use. Histograms are recorded lock-free and folded into their buckets by
//! [`upkeep`], which the server runs every few seconds so memory stays flat even if nobody
//! scrapes. Recording never happens per client per tick: fan-out is timed once per
//! snapshot, and ticks once per room per tick.

use std::sync::OnceLock;

use metrics::{Counter, Histogram, Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const CONNECTIONS: &str = "ballroom_connections";
pub const CONNECTIONS_TOTAL: &str = "ballroom_connections_total";
pub const ROOMS: &str = "ballroom_rooms";
pub const MESSAGES_IN: &str = "ballroom_messages_in_total";
pub const MESSAGES_OUT: &str = "ballroom_messages_out_total";
pub const BYTES_IN: &str = "ballroom_bytes_in_total";
pub const BYTES_OUT: &str = "ballroom_bytes_out_total";
pub const TICK_DURATION: &str = "ballroom_tick_duration_seconds";
pub const TICK_LATENESS: &str = "ballroom_tick_lateness_seconds";
pub const TICK_OVERRUNS: &str = "ballroom_tick_overruns_total";
pub const TICKS_DROPPED: &str = "ballroom_ticks_dropped_total";
pub const FANOUT: &str = "ballroom_snapshot_fanout_seconds";
pub const SNAPSHOTS_SKIPPED: &str = "ballroom_snapshots_skipped_total";
pub const DISCONNECTS: &str = "ballroom_disconnects_total";
pub const REJECTED: &str = "ballroom_rejected_total";
pub const ROOM_PANICS: &str = "ballroom_room_panics_total";
pub const RULES_FAILURES: &str = "ballroom_rules_failures_total";
pub const TASKS: &str = "ballroom_tokio_tasks";
pub const TLS_RELOADS: &str = "ballroom_tls_reloads_total";
pub const SCENE_LOADS: &str = "ballroom_scene_loads_total";
pub const ROOMS_SAVED: &str = "ballroom_rooms_saved_total";
pub const ROOMS_RESTORED: &str = "ballroom_rooms_restored_total";
pub const CLUSTER_FORWARDED: &str = "ballroom_cluster_forwarded_total";
pub const CLUSTER_DROPPED: &str = "ballroom_cluster_dropped_total";
pub const CLUSTER_LEASE_RENEWALS: &str = "ballroom_cluster_lease_renewals_total";
pub const CLUSTER_LEASES_LOST: &str = "ballroom_cluster_leases_lost_total";
pub const CLUSTER_HANDOVERS: &str = "ballroom_cluster_handovers_total";
pub const CLUSTER_CLAIMS: &str = "ballroom_cluster_claims_total";
pub const CLUSTER_RESTORE: &str = "ballroom_cluster_restore_seconds";
pub const CLUSTER_ROOMS_SAVED: &str = "ballroom_cluster_rooms_saved_total";
pub const CLUSTER_NATS_CONNECTED: &str = "ballroom_cluster_nats_connected";

/// Bucket bounds for the timing histograms, in seconds (10 µs to 250 ms).
const BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25,
];

/// The process-wide recorder's handle, installed on first call.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        describe();
        handle
    })
}

/// Handles to the series recorded for every frame, looked up once: the `counter!` macro
/// would search the registry on every call.
pub struct Hot {
    pub messages_out: Counter,
    pub bytes_out: Counter,
    pub bytes_in: Counter,
    pub commands_in: Counter,
    pub relays_in: Counter,
    pub rejected_in: Counter,
    pub snapshots_skipped: Counter,
    pub tick_duration: Histogram,
    pub tick_lateness: Histogram,
    pub fanout: Histogram,
}

/// The hot-path handles (installing the recorder first if needed).
pub fn hot() -> &'static Hot {
    static HOT: OnceLock<Hot> = OnceLock::new();
    HOT.get_or_init(|| {
        handle();
        Hot {
            messages_out: metrics::counter!(MESSAGES_OUT),
            bytes_out: metrics::counter!(BYTES_OUT),
            bytes_in: metrics::counter!(BYTES_IN),
            commands_in: metrics::counter!(MESSAGES_IN, "kind" => "command"),
            relays_in: metrics::counter!(MESSAGES_IN, "kind" => "relay"),
            rejected_in: metrics::counter!(MESSAGES_IN, "kind" => "rejected"),
            snapshots_skipped: metrics::counter!(SNAPSHOTS_SKIPPED),
            tick_duration: metrics::histogram!(TICK_DURATION),
            tick_lateness: metrics::histogram!(TICK_LATENESS),
            fanout: metrics::histogram!(FANOUT),
        }
    })
}

/// Count frames written to one client.
pub fn count_out(frames: u64, bytes: usize) {
    let hot = hot();
    hot.messages_out.increment(frames);
    hot.bytes_out.increment(bytes as u64);
}

/// Fold recorded histogram samples into their buckets.
pub fn upkeep() {
    handle().run_upkeep();
}

/// The Prometheus text exposition of every series. Called on the server's runtime, it
/// first samples the runtime's live task count (a leak shows as a count that does not
/// return to its idle baseline).
pub fn render() -> String {
    let h = handle();
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        metrics::gauge!(TASKS).set(rt.metrics().num_alive_tasks() as f64);
    }
    h.run_upkeep();
    h.render()
}

fn describe() {
    // Gauges read 0 from the start rather than appearing with the first connection, so a
    // scrape of an idle server has a baseline.
    metrics::gauge!(CONNECTIONS).set(0.0);
    metrics::gauge!(ROOMS).set(0.0);
    describe_gauge!(CONNECTIONS, "Open WebSocket connections.");
    describe_counter!(CONNECTIONS_TOTAL, "WebSocket connections accepted.");
    describe_gauge!(ROOMS, "Rooms open (including lingering empty rooms).");
    describe_counter!(
        MESSAGES_IN,
        "Frames received from clients, by kind (command, relay, rejected)."
    );
    describe_counter!(MESSAGES_OUT, "Frames written to clients.");
    describe_counter!(
        BYTES_IN,
        Unit::Bytes,
        "Payload bytes received from clients."
    );
    describe_counter!(BYTES_OUT, Unit::Bytes, "Payload bytes written to clients.");
    describe_histogram!(
        TICK_DURATION,
        Unit::Seconds,
        "Time a room spends on one tick: inputs, step, snapshot, hand-off."
    );
    describe_histogram!(
        TICK_LATENESS,
        Unit::Seconds,
        "How late a room woke for its tick, past the deadline."
    );
    describe_counter!(
        TICK_OVERRUNS,
        "Ticks that took longer than the tick period."
    );
    describe_counter!(
        TICKS_DROPPED,
        "Ticks dropped after a stall longer than --max-catch-up."
    );
    describe_histogram!(
        FANOUT,
        Unit::Seconds,
        "Time to encode one snapshot and hand it to every client of the room."
    );
    describe_counter!(
        SNAPSHOTS_SKIPPED,
        "Snapshots replaced before a slow client's writer took them (latest-wins)."
    );
    describe_counter!(DISCONNECTS, "Connections ended, by reason.");
    describe_counter!(
        REJECTED,
        "Client frames, commands and connections rejected, by reason: the error code, or \
         unauthorized, forbidden, per_ip_connections or per_ip_handshake_rate for a refused \
         handshake or connection (the last two with via: direct, or proxy when a trusted \
         proxy named the address)."
    );
    describe_gauge!(
        TASKS,
        "Tasks alive on the server's tokio runtime when /metrics was read (the scrape's own \
         connection included)."
    );
    describe_counter!(
        ROOM_PANICS,
        "Rooms closed because their simulation panicked."
    );
    describe_counter!(
        RULES_FAILURES,
        "Hooks of a room's rules that failed alone, by hook and by kind: threw, timed_out \
         (past --rules-time), out_of_memory (past --rules-memory) or bad_return."
    );
    describe_counter!(
        SCENE_LOADS,
        "Scene files of --assets loaded (at start, on SIGHUP or changed files), by result: ok, \
         or failed (the scene keeps its previous version, or is refused with the reason)."
    );
    describe_counter!(
        TLS_RELOADS,
        "TLS certificate reloads (SIGHUP or changed files), by result: ok, or failed (the \
         previous certificate is still presented)."
    );
    describe_counter!(
        ROOMS_SAVED,
        "Rooms written to --state-dir at shutdown, by result: ok, or failed."
    );
    describe_counter!(
        ROOMS_RESTORED,
        "Rooms read back from --state-dir at start, by result: ok, or bad (the file was \
         moved aside)."
    );
    describe_counter!(
        CLUSTER_FORWARDED,
        "Cluster messages over NATS, by direction: to_owner (a client's join, command or \
         frame sent to its room's owner on another node) or from_owner (one message an owner \
         published for every node with members of the room)."
    );
    describe_counter!(
        CLUSTER_DROPPED,
        "Cluster messages not published because the node's NATS queue was full, or dropped \
         on arrival because they came from an older lease (fencing)."
    );
    describe_counter!(
        CLUSTER_LEASE_RENEWALS,
        "Room lease renewals by this node, by result: ok, or failed."
    );
    describe_counter!(
        CLUSTER_LEASES_LOST,
        "Room leases this node gave up because a renewal failed or came too late (the room \
         stopped simulating here)."
    );
    describe_counter!(
        CLUSTER_HANDOVERS,
        "Rooms this node saved and released at shutdown for another node to take over."
    );
    describe_counter!(
        CLUSTER_CLAIMS,
        "Room leases this node claimed, by how the room started: fresh, or restored from the \
         cluster's store."
    );
    describe_histogram!(
        CLUSTER_RESTORE,
        Unit::Seconds,
        "Time from claiming a room to running it, reading its saved state included."
    );
    describe_counter!(
        CLUSTER_ROOMS_SAVED,
        "Room states put in the cluster's store, by result: ok, or failed."
    );
    describe_gauge!(
        CLUSTER_NATS_CONNECTED,
        "1 while this node is connected to NATS, 0 while it is not (only with --nats)."
    );
}
