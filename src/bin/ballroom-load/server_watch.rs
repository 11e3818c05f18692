//! The server, watched from outside: its CPU time and memory from /proc (same machine,
//! `--server-pid`), and its `/metrics` gauges over plain HTTP on the target address.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, sleep_until, timeout};

use crate::context::{Ctx, deadline, lock};
use crate::proc_stat::{CLK_TCK, read_cpu_ticks, read_status_kib};
use crate::stats::round3;

/// Bound on one `GET /metrics`.
const METRICS_WAIT: Duration = Duration::from_secs(5);
/// Entries in the timeline of server gauges over the window.
const TIMELINE_POINTS: f64 = 20.0;

// ---------------------------------------------------------------------------------------
// /proc: CPU time and memory over the measurement window.

#[derive(Default)]
pub struct ServerFigures {
    pub cpu_seconds: Option<f64>,
    pub peak_rss_kib: Option<u64>,
    pub vm_hwm_kib: Option<u64>,
    pub rss_samples: u64,
    pub error: Option<String>,
}

impl ServerFigures {
    pub fn failed(e: &str) -> Self {
        ServerFigures {
            error: Some(e.to_owned()),
            ..Default::default()
        }
    }
}

/// CPU over [start, end), VmRSS every 100 ms in between, VmHWM at the end.
pub fn sample_server(pid: u32, start: Instant, end: Instant) -> ServerFigures {
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let cpu0 = match read_cpu_ticks(pid) {
        Ok(t) => t,
        Err(e) => return ServerFigures::failed(&format!("server process: {e}")),
    };
    let mut fig = ServerFigures::default();
    let mut next = Instant::now();
    while next < end {
        if let Some(rss) = read_status_kib(pid, "VmRSS:") {
            fig.rss_samples += 1;
            fig.peak_rss_kib = Some(fig.peak_rss_kib.unwrap_or(0).max(rss));
        }
        next += Duration::from_millis(100);
        std::thread::sleep(next.min(end).saturating_duration_since(Instant::now()));
    }
    match read_cpu_ticks(pid) {
        Ok(cpu1) => fig.cpu_seconds = Some(cpu1.saturating_sub(cpu0) as f64 / CLK_TCK),
        Err(e) => fig.error = Some(format!("server process at the end of the window: {e}")),
    }
    fig.vm_hwm_kib = read_status_kib(pid, "VmHWM:");
    fig
}

// ---------------------------------------------------------------------------------------
// /metrics: gauges before, during and after a soak run.

/// The server's `/metrics` gauges and RSS at one moment (None: could not be read).
#[derive(Default, Serialize)]
pub struct Gauges {
    /// `ballroom_disconnects_total{reason="too_slow"}` (a counter, 0 until the first).
    #[serde(rename = "too_slow_disconnects")]
    pub too_slow: f64,
    pub connections: Option<f64>,
    pub rooms: Option<f64>,
    #[serde(rename = "tokio_tasks")]
    pub tasks: Option<f64>,
    pub rss_kib: Option<u64>,
    pub error: Option<String>,
}

impl Gauges {
    pub async fn read(ctx: &Ctx) -> Gauges {
        let rss_kib = ctx
            .args
            .server_pid
            .and_then(|pid| read_status_kib(pid, "VmRSS:"));
        match scrape_metrics(ctx).await {
            Ok(body) => Gauges {
                too_slow: metric(&body, r#"ballroom_disconnects_total{reason="too_slow"}"#)
                    .unwrap_or(0.0),
                connections: metric(&body, "ballroom_connections"),
                rooms: metric(&body, "ballroom_rooms"),
                tasks: metric(&body, "ballroom_tokio_tasks"),
                rss_kib,
                error: None,
            },
            Err(e) => Gauges {
                rss_kib,
                error: Some(e),
                ..Default::default()
            },
        }
    }

    /// Connections, rooms and tasks at most what they were `before` (a gauge that was
    /// unreadable either time counts as settled only if it is unreadable both times).
    fn settled(&self, before: &Gauges) -> bool {
        let back = |now: Option<f64>, then: Option<f64>| match (now, then) {
            (Some(n), Some(t)) => n <= t,
            (None, None) => true,
            _ => false,
        };
        self.error.is_none()
            && back(self.connections, before.connections)
            && back(self.rooms, before.rooms)
            && back(self.tasks, before.tasks)
    }

    /// Read the gauges until they are back where they were `before`, for at most
    /// `--settle` seconds: the last reading, and how long it took if they did come back.
    pub async fn settle(ctx: &Ctx, before: &Gauges) -> (Gauges, Option<Duration>) {
        let settle_by = Instant::now() + Duration::from_secs_f64(ctx.args.settle);
        let settle_start = Instant::now();
        let after = loop {
            let now = Gauges::read(ctx).await;
            if now.settled(before) || Instant::now() >= settle_by {
                break now;
            }
            sleep(Duration::from_millis(500)).await;
        };
        let settled = after.settled(before);
        (after, settled.then(|| settle_start.elapsed()))
    }
}

/// `GET /metrics` over HTTP/1.0 (so the body is not chunked), bounded.
async fn scrape_metrics(ctx: &Ctx) -> Result<String, String> {
    let io = async {
        let mut s = TcpStream::connect(ctx.target)
            .await
            .map_err(|e| e.to_string())?;
        let req = format!("GET /metrics HTTP/1.0\r\nHost: {}\r\n\r\n", ctx.host);
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(buf)
    };
    let buf = timeout(METRICS_WAIT, io)
        .await
        .map_err(|_| "GET /metrics timed out".to_owned())??;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("GET /metrics: no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        let status = head.lines().next().unwrap_or_default();
        return Err(format!("GET /metrics: {status}"));
    }
    Ok(body.to_owned())
}

/// The value of one series (`name` with its labels, if any) in a Prometheus text exposition.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The gauges at one moment of the run.
#[derive(Serialize)]
pub struct TimelinePoint {
    /// Seconds since the tool started.
    pub t: f64,
    #[serde(flatten)]
    pub gauges: Gauges,
}

/// Gauges every window / 20 (at least every second) from the start of the window, into
/// `timeline`, until aborted.
pub async fn watch(ctx: Arc<Ctx>, timeline: Arc<Mutex<Vec<TimelinePoint>>>) {
    let period = Duration::from_secs_f64((ctx.args.duration / TIMELINE_POINTS).max(1.0));
    let mut next = ctx.window_start;
    loop {
        sleep_until(deadline(next)).await;
        let gauges = Gauges::read(&ctx).await;
        let t = round3(next.duration_since(ctx.t0).as_secs_f64());
        lock(&timeline).push(TimelinePoint { t, gauges });
        next += period;
    }
}
