//! Hooks of a room's rules that failed: counted in `/metrics` (by hook and kind) and in
//! `/rooms` (the room's total), and logged at most once every [`LOG_EVERY`] per room, with
//! the count since the last line, so that a script failing every tick cannot flood the log.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tracing::warn;

use super::LocalRoom;
use crate::rules::HookFailure;
use crate::telemetry;

/// At most one log line per room this often.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// What a room remembers between its lines of failures.
#[derive(Default)]
pub(super) struct FailureLog {
    unlogged: u64,
    last_line: Option<Instant>,
}

impl LocalRoom {
    pub(super) fn rules_failed(&mut self, failures: &[HookFailure]) {
        for failure in failures {
            let (hook, kind) = labels(failure);
            metrics::counter!(telemetry::RULES_FAILURES, "hook" => hook, "kind" => kind)
                .increment(1);
        }
        let count = failures.len() as u64;
        self.info.rules_failures.fetch_add(count, Ordering::Relaxed);
        let log = &mut self.rules_log;
        log.unlogged += count;
        let now = Instant::now();
        if log.last_line.is_none_or(|t| now - t >= LOG_EVERY)
            && let Some(last) = failures.last()
        {
            warn!(failures = log.unlogged, last = %last, "rules hook failed; the room goes on");
            log.unlogged = 0;
            log.last_line = Some(now);
        }
    }
}

/// The `hook` and `kind` labels of a failure.
fn labels(failure: &HookFailure) -> (&'static str, &'static str) {
    match failure {
        HookFailure::Threw { hook, .. } => (hook, "threw"),
        HookFailure::TimedOut { hook, .. } => (hook, "timed_out"),
        HookFailure::OutOfMemory { hook, .. } => (hook, "out_of_memory"),
        HookFailure::BadReturn { hook, .. } => (hook, "bad_return"),
    }
}
