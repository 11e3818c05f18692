//! Harness for the cluster tests (`cluster.rs`): a real `nats-server` with JetStream on a
//! random loopback port, a TCP proxy per node between it and NATS (so that a test can cut
//! exactly one node off NATS), ballroom nodes started as the real binary in cluster mode,
//! and WebSocket clients whose every frame is read at once by a task of their own and
//! stamped with the instant it arrived (so that gaps are measured where they happened, not
//! where the test got round to looking).
//!
//! Every wait is bounded; nothing talks to anything but loopback. A missing `nats-server`
//! fails the test (CI installs it). When a test fails, every node's and the NATS server's
//! log is printed (set `BALLROOM_CLUSTER_LOG=debug` for more of it).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{self, ServerProcess};

/// The lease time the nodes run with, as passed to `--lease-ttl`.
pub const LEASE_TTL: Duration = Duration::from_secs(2);
const LEASE_TTL_ARG: &str = "2";
/// How often an owner writes its rooms to the store, as passed to `--persist-interval`.
const PERSIST_INTERVAL_ARG: &str = "0.25";
/// The longest a process may take to start and say where it listens.
const START_WAIT: Duration = Duration::from_secs(15);
/// Lines of each log kept for the report of a failed test.
const LOG_LINES: usize = 400;

/// One cluster test at a time: they kill, stop and cut nodes and measure gaps in
/// milliseconds, which two of them sharing two cores would blur.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// `serial` for a test that is not async.
pub fn serial_blocking() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.blocking_lock()
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ballroom-{what}-{}-{}",
            std::process::id(),
            CALLS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The last lines of a process's output, kept for the report of a failed test.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Keep reading `out` into the log (so the process never blocks on a full pipe).
    fn drain(&self, out: impl BufRead + Send + 'static) {
        let log = self.clone();
        std::thread::spawn(move || {
            for line in out.lines() {
                let Ok(line) = line else { break };
                log.push(line);
            }
        });
    }

    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() >= LOG_LINES {
            lines.remove(0);
        }
        lines.push(line);
    }

    /// Every line kept, joined.
    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
    }

    /// Print the log if the test is failing.
    fn report_if_panicking(&self, who: &str) {
        if std::thread::panicking() {
            eprintln!("----- log of {who} (last {LOG_LINES} lines) -----");
            eprintln!("{}", self.text());
            eprintln!("----- end of {who} -----");
        }
    }
}

/// Read lines of `out` into `log` until one for which `find` gives a value, for at most
/// `START_WAIT`; the rest of `out` keeps going to `log`.
fn read_until<T: Send + 'static>(
    out: impl Read + Send + 'static,
    log: &Log,
    what: &str,
    find: impl Fn(&str) -> Option<T> + Send + 'static,
) -> T {
    let (found, wait) = std::sync::mpsc::channel();
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut sent = false;
        let mut line = String::new();
        loop {
            line.clear();
            match out.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = line.trim_end().to_owned();
            if !sent {
                if let Some(v) = find(&text) {
                    let _ = found.send(v);
                    sent = true;
                }
            }
            log2.push(text);
        }
    });
    wait.recv_timeout(START_WAIT).unwrap_or_else(|_| {
        panic!(
            "{what}: no start line within {START_WAIT:?}; output so far:\n{}",
            log.text()
        )
    })
}

// ------------------------------------------------------------------------------------
// NATS

/// `nats-server -js` on a random loopback port with a store directory of its own; killed,
/// and the directory removed, on drop.
pub struct NatsServer {
    child: Child,
    pub addr: SocketAddr,
    log: Log,
    _store: TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let store = TempDir::new("nats");
        let mut child = Command::new(nats_server_binary())
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(&store.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run nats-server ({e}): the cluster tests need it on PATH \
                     (Debian: apt-get install nats-server)"
                )
            });
        let log = Log::default();
        // `-p -1` picks a free port and logs it; "Server is ready" follows once it serves.
        let stderr = child.stderr.take().unwrap();
        let port = Arc::new(Mutex::new(None::<u16>));
        let seen = port.clone();
        read_until(stderr, &log, "nats-server", move |line| {
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                let p = rest.trim().rsplit(':').next()?.parse().ok()?;
                *seen.lock().unwrap() = Some(p);
            }
            if line.contains("Server is ready") {
                return *seen.lock().unwrap();
            }
            None
        });
        let port = port.lock().unwrap().expect("nats-server named its port");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let server = NatsServer {
            child,
            addr,
            log,
            _store: store,
        };
        wait_for_tcp(addr);
        server
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.log.report_if_panicking("nats-server");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$NATS_SERVER` if set; else `nats-server` from `PATH`; else Debian's
/// `/usr/sbin/nats-server` (not on an ordinary user's `PATH`).
fn nats_server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return p.into();
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("nats-server").is_file()));
    if on_path {
        "nats-server".into()
    } else {
        "/usr/sbin/nats-server".into()
    }
}

/// Wait until `addr` accepts TCP connections.
fn wait_for_tcp(addr: SocketAddr) {
    let deadline = Instant::now() + START_WAIT;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{addr} never accepted a connection"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ------------------------------------------------------------------------------------
// The cutter

/// A loopback TCP proxy between one ballroom node and NATS. `cut` closes every proxied
/// connection and, until `restore`, closes each new one as soon as it is accepted (so the
/// node's client sees its connection end and every reconnect fail); the port stays the same.
pub struct NatsCutter {
    pub addr: SocketAddr,
    shared: Arc<CutterShared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

struct CutterShared {
    upstream: SocketAddr,
    cut: AtomicBool,
    stop: AtomicBool,
    /// Both ends of every proxied connection (clones), to shut them down at a cut.
    open: Mutex<Vec<TcpStream>>,
    /// Connections proxied so far.
    proxied: AtomicU64,
}

impl NatsCutter {
    pub fn start(upstream: SocketAddr) -> NatsCutter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(CutterShared {
            upstream,
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
            proxied: AtomicU64::new(0),
        });
        let s = shared.clone();
        let accept = std::thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((down, _)) => s.proxy(down),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        NatsCutter {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// Close every proxied connection; refuse (accept and close) new ones until `restore`.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.close_all();
    }

    /// Proxy new connections again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Connections proxied so far.
    pub fn proxied(&self) -> u64 {
        self.shared.proxied.load(Ordering::SeqCst)
    }
}

impl CutterShared {
    fn proxy(&self, down: TcpStream) {
        if self.cut.load(Ordering::SeqCst) {
            let _ = down.shutdown(Shutdown::Both);
            return;
        }
        let _ = down.set_nonblocking(false);
        let Ok(up) = TcpStream::connect_timeout(&self.upstream, Duration::from_secs(1)) else {
            let _ = down.shutdown(Shutdown::Both);
            return;
        };
        let _ = (down.set_nodelay(true), up.set_nodelay(true));
        {
            let mut open = self.open.lock().unwrap();
            open.push(down.try_clone().unwrap());
            open.push(up.try_clone().unwrap());
        }
        // A cut between the check above and the registration must not miss this one.
        if self.cut.load(Ordering::SeqCst) {
            self.close_all();
            return;
        }
        self.proxied.fetch_add(1, Ordering::SeqCst);
        for (mut from, mut to) in [
            (down.try_clone().unwrap(), up.try_clone().unwrap()),
            (up, down),
        ] {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            });
        }
    }

    fn close_all(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for NatsCutter {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.close_all();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

// ------------------------------------------------------------------------------------
// Nodes

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
        let deadline = Instant::now() + wait;
        loop {
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
            if let Some(Some(first)) = owners.first() {
                if owners.iter().all(|o| o == &Some(*first)) {
                    return (*first).to_owned();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the nodes never agreed on one owner of {room} within {wait:?}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Nodes before NATS, so their logs do not fill with reconnects.
        self.nodes.clear();
    }
}

// ------------------------------------------------------------------------------------
// Clients

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// One frame as a client received it, stamped with its arrival.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub frame: Frame,
}

#[derive(Clone, Debug)]
pub enum Frame {
    /// A text frame; its JSON if it parses.
    Text(String, Option<Value>),
    Binary(Vec<u8>),
    /// The server's close frame: code and reason.
    Close(Option<u16>, String),
    /// The connection ended (with or without a close frame before).
    Ended(String),
}

impl Frame {
    /// One line for a report.
    pub fn describe(&self) -> String {
        match self {
            Frame::Text(t, _) => format!("text {t}"),
            Frame::Binary(b) => format!("binary, {} bytes", b.len()),
            Frame::Close(code, reason) => format!("close {code:?} {reason:?}"),
            Frame::Ended(why) => format!("ended: {why}"),
        }
    }
}

impl Seen {
    pub fn json(&self) -> Option<&Value> {
        match &self.frame {
            Frame::Text(_, v) => v.as_ref(),
            _ => None,
        }
    }

    /// A JSON snapshot.
    pub fn snapshot(&self) -> Option<&Value> {
        self.json().filter(|v| v["type"] == "snapshot")
    }
}

/// A WebSocket client whose frames are read as they arrive by a task of its own.
pub struct Peer {
    pub name: String,
    /// When its WebSocket handshake completed.
    pub connected: Instant,
    sink: SplitSink<Ws, Message>,
    rx: mpsc::UnboundedReceiver<Seen>,
    /// Every frame taken from the reader so far, in order.
    pub seen: Vec<Seen>,
    reader: JoinHandle<()>,
}

impl Peer {
    pub fn watch(name: String, ws: Ws) -> Peer {
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_all(stream, tx));
        Peer {
            name,
            connected: Instant::now(),
            sink,
            rx,
            seen: Vec::new(),
            reader,
        }
    }

    pub async fn send(&mut self, msg: Message) {
        self.sink.send(msg).await.unwrap();
    }

    /// Send a frame if the connection still takes it (a node's death may have ended it).
    pub async fn try_send(&mut self, msg: Message) -> bool {
        self.sink.send(msg).await.is_ok()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text)).await;
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    /// Take every frame that has arrived by now, without waiting.
    pub fn take_arrived(&mut self) {
        while let Ok(s) = self.rx.try_recv() {
            self.seen.push(s);
        }
    }

    /// Everything that arrives within `wait`.
    pub async fn collect(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(s)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.seen.push(s);
        }
    }

    /// Frames until one for which `pred` holds, for at most `wait`: that one, or None.
    pub async fn try_until(
        &mut self,
        wait: Duration,
        pred: impl Fn(&Seen) -> bool,
    ) -> Option<Seen> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let s = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()??;
            self.seen.push(s.clone());
            if pred(&s) {
                return Some(s);
            }
        }
    }

    /// Frames until one for which `pred` holds, failing the test after `wait`.
    pub async fn until(&mut self, wait: Duration, pred: impl Fn(&Seen) -> bool) -> Seen {
        match self.try_until(wait, pred).await {
            Some(s) => s,
            None => panic!(
                "{}: the expected frame did not come within {wait:?}; the last frames:\n{}",
                self.name,
                self.tail(8)
            ),
        }
    }

    /// JSON frames until one for which `pred` holds, failing the test after `wait`.
    pub async fn json_until(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.until(wait, |s| s.json().is_some_and(&pred))
            .await
            .json()
            .unwrap()
            .clone()
    }

    /// The next snapshot whose tick is above `tick`.
    pub async fn snapshot_after(&mut self, tick: u64, wait: Duration) -> Value {
        self.json_until(wait, |v| v["type"] == "snapshot" && tick_of(v) > tick)
            .await
    }

    /// The last `n` frames seen, one a line (long ones shortened).
    pub fn tail(&self, n: usize) -> String {
        self.seen[self.seen.len().saturating_sub(n)..]
            .iter()
            .map(|s| {
                let mut t = s.frame.describe();
                if t.len() > 300 {
                    let mut cut = 300;
                    while !t.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    t.truncate(cut);
                    t.push('…');
                }
                t
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The JSON snapshots seen, with their arrival.
    pub fn snapshots(&self) -> impl Iterator<Item = (Instant, &Value)> {
        self.seen.iter().filter_map(|s| Some((s.at, s.snapshot()?)))
    }

    /// The highest snapshot tick seen so far.
    pub fn last_tick(&self) -> Option<u64> {
        self.snapshots().map(|(_, v)| tick_of(v)).max()
    }

    /// The server's close frame, if one came.
    pub fn close_code(&self) -> Option<Option<u16>> {
        self.seen.iter().find_map(|s| match &s.frame {
            Frame::Close(code, _) => Some(*code),
            _ => None,
        })
    }

    /// Whether the connection has ended.
    pub fn ended(&self) -> bool {
        self.seen.iter().any(|s| matches!(s.frame, Frame::Ended(_)))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_all(mut stream: SplitStream<Ws>, tx: mpsc::UnboundedSender<Seen>) {
    loop {
        let frame = match stream.next().await {
            None => Frame::Ended("end of stream".to_owned()),
            Some(Err(e)) => Frame::Ended(e.to_string()),
            Some(Ok(Message::Text(t))) => {
                let v = serde_json::from_str(&t).ok();
                Frame::Text(t.to_string(), v)
            }
            Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
            Some(Ok(Message::Close(c))) => match c {
                Some(c) => Frame::Close(Some(c.code.into()), c.reason.to_string()),
                None => Frame::Close(None, String::new()),
            },
            Some(Ok(_)) => continue,
        };
        let end = matches!(frame, Frame::Ended(_));
        if tx
            .send(Seen {
                at: Instant::now(),
                frame,
            })
            .is_err()
            || end
        {
            return;
        }
    }
}

pub fn tick_of(snapshot: &Value) -> u64 {
    snapshot["tick"]
        .as_u64()
        .unwrap_or_else(|| panic!("no tick in {snapshot}"))
}

/// Check that no two snapshots of the same tick disagree on the balls, across every
/// client in `peers` and across time (a tick seen again after a takeover must show the
/// same world). Returns how many snapshots were compared with an earlier one of their tick.
pub fn assert_one_history(peers: &[&Peer]) -> usize {
    assert_one_world(
        peers
            .iter()
            .flat_map(|p| p.snapshots().map(|(_, s)| (p.name.as_str(), s))),
    )
}

/// `assert_one_history` over (client name, snapshot) pairs.
pub fn assert_one_world<'a>(snapshots: impl Iterator<Item = (&'a str, &'a Value)>) -> usize {
    let mut by_tick: BTreeMap<u64, (&str, &Value)> = BTreeMap::new();
    let mut compared = 0;
    for (name, snap) in snapshots {
        let tick = tick_of(snap);
        match by_tick.get(&tick) {
            None => {
                by_tick.insert(tick, (name, snap));
            }
            Some((first, earlier)) => {
                compared += 1;
                assert_eq!(
                    earlier["balls"], snap["balls"],
                    "two different worlds at tick {tick}: {first} saw one, {name} the other"
                );
            }
        }
    }
    compared
}

/// The largest gap between consecutive snapshot arrivals of `peer` from `from` on, and
/// the snapshot ticks on either side of it.
pub fn largest_gap(peer: &Peer, from: Instant) -> (Duration, u64, u64) {
    let mut best = (Duration::ZERO, 0, 0);
    let mut prev: Option<(Instant, u64)> = None;
    for (at, snap) in peer.snapshots() {
        if at < from {
            prev = Some((at, tick_of(snap)));
            continue;
        }
        if let Some((before, t)) = prev {
            let gap = at - before;
            if gap > best.0 {
                best = (gap, t, tick_of(snap));
            }
        }
        prev = Some((at, tick_of(snap)));
    }
    best
}
