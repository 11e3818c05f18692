//! The load tool's own CPU time over the measurement window, read from /proc/self like the
//! server's (`--server-pid`), so that a run can tell whether the tool, rather than the
//! server, was what ran out of CPU.

use std::time::Instant;

use serde::Serialize;

use crate::proc_stat::{CLK_TCK, read_cpu_ticks};
use crate::stats::round3;

/// This process's CPU time (every thread) over the window.
#[derive(Serialize)]
pub struct LoadToolCpu {
    pub cpu_seconds: Option<f64>,
    /// CPU seconds per second of the window: cores kept busy.
    pub cores: Option<f64>,
    pub error: Option<String>,
}

impl LoadToolCpu {
    pub fn failed(e: &str) -> LoadToolCpu {
        LoadToolCpu {
            cpu_seconds: None,
            cores: None,
            error: Some(e.to_owned()),
        }
    }

    /// Blocks until `end`: the CPU this process used over [start, end).
    pub fn measure(start: Instant, end: Instant) -> LoadToolCpu {
        let pid = std::process::id();
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
        let t0 = (read_cpu_ticks(pid), Instant::now());
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
        let t1 = (read_cpu_ticks(pid), Instant::now());
        match (t0, t1) {
            ((Ok(c0), at0), (Ok(c1), at1)) => {
                let cpu = c1.saturating_sub(c0) as f64 / CLK_TCK;
                let window = at1.duration_since(at0).as_secs_f64();
                LoadToolCpu {
                    cpu_seconds: Some(round3(cpu)),
                    cores: (window > 0.0).then(|| round3(cpu / window)),
                    error: None,
                }
            }
            ((Err(e), _), _) | (_, (Err(e), _)) => LoadToolCpu::failed(&format!("/proc: {e}")),
        }
    }
}
