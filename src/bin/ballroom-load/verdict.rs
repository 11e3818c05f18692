//! What a run prints ([`Outcome`]: the report, and for a soak run the verdict on it), and
//! the soak verdict: a list of checks over the typed report, each with its name, whether it
//! passed, the figure it measured and what that figure had to be. It goes into the printed
//! JSON (`verdict`), to stderr for a human, and into the exit status (1 if a check failed).
//! The checks and their thresholds are those `scripts/soak.sh` used to compute in Python.

use std::fmt::Display;

use serde::Serialize;

use crate::report::Report;

/// A run's outcome: its report and, for a soak run, the verdict on it.
#[derive(Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl Outcome {
    pub fn of(report: Report) -> Outcome {
        let verdict = Verdict::of(&report);
        Outcome { report, verdict }
    }

    pub fn to_json(&self) -> String {
        let value = serde_json::to_value(self).expect("the report serializes");
        serde_json::to_string_pretty(&value).expect("a JSON value always serializes")
    }

    /// A soak run's outcome on stderr, for a human: the server's gauges through the run,
    /// then the verdict. Nothing for the other modes.
    pub fn eprint(&self) {
        let Some(verdict) = &self.verdict else {
            return;
        };
        if let Some(soak) = &self.report.soak {
            soak.server.eprint_gauges();
        }
        verdict.eprint(&self.report);
    }
}

#[derive(Serialize)]
pub struct Verdict {
    /// Every check passed.
    pub passed: bool,
    pub checks: Vec<Check>,
}

#[derive(Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    /// What the check measured, e.g. `missed snapshots`.
    pub figure: &'static str,
    /// Its value (null: it could not be measured).
    pub measured: Option<f64>,
    /// What it had to be.
    pub required: String,
}

impl Check {
    /// `figure` must be `want`.
    fn equal(name: &'static str, figure: &'static str, measured: Option<u64>, want: u64) -> Check {
        Check {
            name,
            passed: measured == Some(want),
            figure,
            measured: measured.map(|m| m as f64),
            required: format!("= {want}"),
        }
    }

    /// `figure` must not exceed `limit`, which is `what`.
    fn at_most(
        name: &'static str,
        figure: &'static str,
        measured: f64,
        limit: f64,
        what: &str,
    ) -> Check {
        Check {
            name,
            passed: measured <= limit,
            figure,
            measured: Some(measured),
            required: format!("<= {limit}, {what}"),
        }
    }
}

impl Verdict {
    /// The verdict on a soak run; None for the other modes.
    pub fn of(report: &Report) -> Option<Verdict> {
        let soak = report.soak.as_ref()?;
        let (churn, slow, garbage, server) = (&soak.churn, &soak.slow, &soak.garbage, &soak.server);
        let too_slow_counted = server.after.too_slow - server.before.too_slow;
        let checks = vec![
            Check::equal(
                "steady clients: all connected and welcomed",
                "steady clients welcomed",
                report.connections.welcomed.map(|w| w as u64),
                u64::from(report.params.clients),
            ),
            Check::equal(
                "steady clients: none ended early",
                "steady clients that ended early",
                Some(report.connections.ended_early as u64),
                0,
            ),
            Check::equal(
                "steady clients: no missed snapshots",
                "missed snapshots",
                report.snapshots.as_ref().map(|s| s.counts.missed),
                0,
            ),
            Check::equal(
                "steady clients: every kick acked or answered",
                "kicks neither acked nor answered",
                report.kicks.as_ref().map(|k| k.unacked),
                0,
            ),
            Check::equal(
                "churn physics sessions: no missed snapshots",
                "missed snapshots",
                Some(churn.snapshots.counts.missed),
                0,
            ),
            Check::equal(
                "churn sessions: none ended early",
                "sessions that ended early",
                Some(churn.ended_early.total()),
                0,
            ),
            Check::equal(
                "churn plain sessions: no relayed message lost",
                "relayed messages lost",
                Some(churn.relay.lost),
                0,
            ),
            Check::equal(
                "slow clients: only kept, or closed 1008 too slow (cut off without a close \
                 frame if still not reading)",
                "stalls that ended otherwise",
                Some(slow.undocumented()),
                0,
            ),
            Check::at_most(
                "slow clients: every one closed or cut off was counted too_slow by the server",
                "stalls after which the client was closed or cut off",
                slow.let_go() as f64,
                too_slow_counted,
                "the too_slow disconnects the server counted during the run",
            ),
            Check::equal(
                "garbage: every answer as documented",
                "answers not as documented",
                Some(garbage.unexpected_total),
                0,
            ),
            Check {
                name: "server: connections, rooms and tasks back to the baseline",
                passed: server.settled,
                figure: "seconds until back",
                measured: server.settled_after_s,
                required: format!(
                    "back within --settle ({} s)",
                    report.params.settle.unwrap_or_default()
                ),
            },
        ];
        Some(Verdict {
            passed: checks.iter().all(|c| c.passed),
            checks,
        })
    }

    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }

    /// An overview of the run, then one PASS or FAIL line per check.
    pub fn eprint(&self, report: &Report) {
        eprintln!("\n=== verdict ===");
        if let Some(soak) = &report.soak {
            let (churn, slow, server) = (&soak.churn, &soak.slow, &soak.server);
            let steady = report.snapshots.as_ref().map(|s| &s.counts);
            eprintln!(
                "steady: {} snapshots, {} missed; churn: {} physics + {} plain sessions, {} \
                 snapshots, {} missed, {} relayed / {} echoed; slow: {} stalls {}; garbage: {} \
                 connections",
                or_dash(steady.map(|s| s.received)),
                or_dash(steady.map(|s| s.missed)),
                churn.physics_sessions,
                churn.plain_sessions,
                churn.snapshots.counts.received,
                churn.snapshots.counts.missed,
                churn.relay.sent,
                churn.relay.echoed,
                slow.sessions,
                serde_json::to_string(&slow.outcomes).unwrap_or_default(),
                soak.garbage.sessions,
            );
            eprintln!(
                "RSS: before {} KiB, after {} KiB, growth over the second half of the window {} \
                 KiB; tasks before {}, after {} (settled after {} s)",
                or_dash(server.before.rss_kib),
                or_dash(server.after.rss_kib),
                or_dash(server.rss_growth_second_half_kib),
                or_dash(server.before.tasks),
                or_dash(server.after.tasks),
                or_dash(server.settled_after_s),
            );
        }
        for c in &self.checks {
            eprintln!(
                "{} {} ({}: {}; required {})",
                if c.passed { "PASS" } else { "FAIL" },
                c.name,
                c.figure,
                or_dash(c.measured),
                c.required
            );
        }
    }
}

fn or_dash(v: Option<impl Display>) -> String {
    v.map_or("-".to_owned(), |v| v.to_string())
}
