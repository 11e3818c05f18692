//! Ballroom nodes started as the real binary in cluster mode, and a cluster of three.

use std::io::BufReader;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::log::{Log, read_until};
use super::nats::{NatsCutter, NatsServer};
use super::peer::Peer;
use crate::support::{self, ServerProcess};

/// The lease time the nodes run with, as passed to `--lease-ttl`.
pub const LEASE_TTL: Duration = Duration::from_secs(2);
const LEASE_TTL_ARG: &str = "2";
/// How often an owner writes its rooms to the store, as passed to `--persist-interval`.
const PERSIST_INTERVAL_ARG: &str = "0.25";

/// A ballroom node: the real binary with `--nats` (through a cutter of its own),
/// `--node-id`, `--lease-ttl 2` and `--persist-interval 0.25`.
pub struct Node {
    pub id: String,
    pub addr: SocketAddr,
    /// `None` once the process has been killed or has exited.
    pub process: Option<ServerProcess>,
    pub cutter: NatsCutter,
    log: Log,
}

impl Node {
    /// Start node `id` connected to NATS at `nats` through a cutter, with `extra` flags.
    pub fn start(nats: SocketAddr, id: &str, extra: &[&str]) -> Node {
        let cutter = NatsCutter::start(nats);
        let url = cutter.url();
        let mut args = vec![
            "--nats",
            &url,
            "--node-id",
            id,
            "--lease-ttl",
            LEASE_TTL_ARG,
            "--persist-interval",
            PERSIST_INTERVAL_ARG,
        ];
        args.extend_from_slice(extra);
        let (process, log) = spawn_ballroom(&args, id);
        Node {
            id: id.to_owned(),
            addr: process.addr.parse().unwrap(),
            process: Some(process),
            cutter,
            log,
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let mut p = self.process.take().expect("the node is running");
        p.child.kill().unwrap();
        p.child.wait().unwrap();
    }

    /// Send SIGTERM; the process is waited for by `wait_exit`.
    pub fn terminate(&self) {
        self.process
            .as_ref()
            .expect("the node is running")
            .signal("TERM");
    }

    /// Wait (at most `limit`) for the process to exit; its status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = self
            .process
            .as_mut()
            .expect("the node was started")
            .wait_exit(limit);
        self.process = None;
        status
    }

    /// A protocol client (`ballroom.v1`) of this node, after its `welcome`.
    pub async fn protocol(&self, path: &str) -> (Peer, Value) {
        let mut peer = self.peer(path, Some("ballroom.v1")).await;
        let welcome = peer
            .json_until(support::WAIT, |v| v["type"] == "welcome")
            .await;
        (peer, welcome)
    }

    /// A plain client of this node.
    pub async fn plain(&self, path: &str) -> Peer {
        self.peer(path, None).await
    }

    pub async fn peer(&self, path: &str, subprotocol: Option<&str>) -> Peer {
        let client = support::connect_to(self.addr, path, subprotocol).await;
        Peer::watch(format!("{}{path}", self.id), client.ws)
    }

    /// `GET path`: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = support::http_request(self.addr, "GET", path, "").await;
        (status, body)
    }

    /// `GET /healthz`: (status, body as JSON).
    pub async fn healthz(&self) -> (u16, Value) {
        let (status, body) = self.get("/healthz").await;
        let v = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/healthz of {} is not JSON ({e}): {body:?}", self.id));
        (status, v)
    }

    /// `GET /rooms`, parsed.
    pub async fn rooms(&self) -> Vec<Value> {
        let (status, body) = self.get("/rooms").await;
        assert_eq!(status, 200, "/rooms of {}: {body}", self.id);
        serde_json::from_str::<Vec<Value>>(&body)
            .unwrap_or_else(|e| panic!("/rooms of {} ({e}): {body}", self.id))
    }

    /// The entries of `room` in this node's `/rooms`.
    pub async fn room_entries(&self, room: &str) -> Vec<Value> {
        self.rooms()
            .await
            .into_iter()
            .filter(|r| r["room"] == room)
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.log.report_if_panicking(&format!("node {}", self.id));
    }
}

/// Start the ballroom binary with `--addr 127.0.0.1:0 ARGS`, keeping its log; the address
/// comes from the first log line that names `addr=` (a node may log its NATS connection
/// first).
fn spawn_ballroom(args: &[&str], who: &str) -> (ServerProcess, Log) {
    let level = std::env::var("BALLROOM_CLUSTER_LOG").unwrap_or_else(|_| "info".to_owned());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballroom"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", level)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ballroom starts");
    let log = Log::default();
    log.drain(BufReader::new(child.stderr.take().unwrap()));
    let stdout = child.stdout.take().unwrap();
    let addr = read_until(stdout, &log, &format!("node {who}"), |line| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .map(|a| a.trim_matches('"').to_owned())
    });
    (ServerProcess { child, addr }, log)
}

/// NATS and three nodes `a`, `b`, `c`, each with `extra` flags.
pub struct Cluster {
    pub nodes: Vec<Node>,
    /// Kept to be dropped after the nodes.
    _nats: NatsServer,
}

impl Cluster {
    pub fn start(extra: &[&str]) -> Cluster {
        let nats = NatsServer::start();
        let nodes = ["a", "b", "c"]
            .iter()
            .map(|id| Node::start(nats.addr, id, extra))
            .collect();
        Cluster { nodes, _nats: nats }
    }

    pub fn node(&self, id: &str) -> &Node {
        self.nodes.iter().find(|n| n.id == id).unwrap()
    }

    pub fn node_mut(&mut self, id: &str) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.id == id).unwrap()
    }

    /// The nodes still running.
    pub fn running(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.process.is_some())
    }

    /// Wait until every node that is still running (and not in `except`) agrees on one
    /// owner of `room` in its `/rooms`, listed once, for at most `wait`; that owner.
    pub async fn agreed_owner(&self, room: &str, except: &[&str], wait: Duration) -> String {
        let last_seen = std::cell::RefCell::new(Vec::new());
        let agreed = support::poll(wait, || async {
            let mut seen = Vec::new();
            for n in self.running().filter(|n| !except.contains(&n.id.as_str())) {
                seen.push((n.id.clone(), n.room_entries(room).await));
            }
            let owners: Vec<Option<&str>> = seen
                .iter()
                .map(|(_, e)| match e.as_slice() {
                    [one] => one["owner"].as_str(),
                    _ => None,
                })
                .collect();
            let first = owners.first().copied().flatten().map(str::to_owned);
            let agreed = first.filter(|f| owners.iter().all(|o| *o == Some(f.as_str())));
            *last_seen.borrow_mut() = seen;
            agreed
        })
        .await;
        agreed.unwrap_or_else(|| {
            panic!(
                "the nodes never agreed on one owner of {room} within {wait:?}: {:?}",
                last_seen.borrow()
            )
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Nodes before NATS, so their logs do not fill with reconnects.
        self.nodes.clear();
    }
}
