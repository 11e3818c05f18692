//! What every attack test shares: an honest player whose snapshot rate is watched while
//! the attack runs, the server process's CPU time, and its `/metrics`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{self, protocol_at};

/// An honest player in room `/honest`: it kicks a ball every 300 ms (so the room always
/// moves and owes 20 snapshots a second) and counts the snapshots it receives.
pub struct Honest {
    task: JoinHandle<(usize, Duration)>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Honest {
    pub async fn start(addr: SocketAddr) -> Honest {
        let (mut client, _) = protocol_at(addr, "/honest?scene=kickballs").await;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut snapshots = 0usize;
            let mut kick = tokio::time::interval(Duration::from_millis(300));
            let mut seq = 0u64;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = kick.tick() => {
                        seq += 1;
                        let z = if seq.is_multiple_of(2) { 3.0 } else { -3.0 };
                        client
                            .send_json(json!({"type":"kick","ball":0,"impulse":[0.0, 0.5, z],"seq":seq}))
                            .await;
                    }
                    m = client.try_next(Duration::from_secs(2)) => match m {
                        Some(Message::Text(t)) => {
                            let v: Value = serde_json::from_str(&t).unwrap_or_default();
                            if v["type"] == "snapshot" {
                                snapshots += 1;
                            }
                        }
                        Some(_) => {}
                        None => break,
                    },
                }
            }
            (snapshots, started.elapsed())
        });
        Honest { task, stop }
    }

    /// Snapshots a second the honest player received while it played.
    pub async fn finish(self) -> f64 {
        let _ = self.stop.send(());
        let (n, took) = self.task.await.expect("the honest player ran");
        n as f64 / took.as_secs_f64()
    }
}

/// The honest player's floor: it is owed 20 a second; a server starved by an attack
/// delivers far fewer. Generous, for noisy machines.
pub const HONEST_MIN_RATE: f64 = 8.0;

/// CPU seconds (user + system) process `pid` has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').expect("a command name").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The server's `/metrics` (with `extra` header lines).
pub async fn metrics(addr: SocketAddr, extra: &str) -> String {
    let (status, _, body) = support::http_request(addr, "GET", "/metrics", extra).await;
    assert_eq!(status, 200, "{body}");
    body
}
