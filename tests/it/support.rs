//! Test harness: a real server on 127.0.0.1:0 and real WebSocket clients.
//! Every wait is bounded; nothing here talks to anything but loopback.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ballroom::Config;
use ballroom::server::StartError;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderName;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any single expected message may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// `probe`'s first `Some`, polled every 20 ms for at most `WAIT`: a test waits for a
/// condition, not for a time. Panics naming `what` when it never holds.
pub async fn eventually<T, Fut>(what: &str, probe: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_within(what, WAIT, probe).await
}

/// [`eventually`] for at most `wait`.
pub async fn eventually_within<T, Fut>(what: &str, wait: Duration, probe: impl FnMut() -> Fut) -> T
where
    Fut: std::future::Future<Output = Option<T>>,
{
    match poll(wait, probe).await {
        Some(found) => found,
        None => panic!("not within {wait:?}: {what}"),
    }
}

/// `probe`'s first `Some`, polled every 20 ms for at most `wait` (and at least once), or
/// None: for a test that does something else when a condition does not come.
pub async fn poll<T, Fut>(wait: Duration, mut probe: impl FnMut() -> Fut) -> Option<T>
where
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`poll`] for code off the async runtime (a thread, a blocking test): blocks the thread.
pub fn poll_blocking<T>(wait: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The embedded defaults, bound to an ephemeral loopback port.
pub fn config() -> Config {
    let mut c = Config::defaults();
    c.addr = "127.0.0.1:0".parse().unwrap();
    c
}

/// An `--assets` directory holding one scene file: the built-in scene `base`, renamed
/// `name` and changed by `edit`. Every call gets a directory of its own.
pub fn scene_assets(base: &str, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let scene = ballroom::scene::SceneLibrary::builtin()
        .get(base)
        .expect("a built-in scene");
    let mut json = serde_json::to_value(&*scene).unwrap();
    json["name"] = Value::from(name);
    edit(&mut json);
    let dir = std::env::temp_dir().join(format!(
        "ballroom-{name}-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(dir.join("scenes")).unwrap();
    std::fs::write(dir.join(format!("scenes/{name}.json")), json.to_string()).unwrap();
    dir
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), StartError>>,
}

pub async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ballroom::server::run(listener, config, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

impl Server {
    /// A plain client (what a scene written for a broadcast server is).
    pub async fn plain(&self, path: &str) -> Client {
        self.connect(path, None).await
    }

    /// A protocol client (subprotocol `ballroom.v1`), after its `welcome`.
    pub async fn protocol(&self, path: &str) -> (Client, Value) {
        protocol_at(self.addr, path).await
    }

    pub async fn connect(&self, path: &str, subprotocol: Option<&str>) -> Client {
        connect_to(self.addr, path, subprotocol).await
    }

    /// A plain client whose socket is bound to `local` (a loopback address such as
    /// 127.0.0.2), so that the server counts it against that address.
    pub async fn plain_from(&self, local: IpAddr, path: &str) -> Client {
        self.connect_from(local, path, &[])
            .await
            .unwrap_or_else(|r| panic!("{local} was refused: {} {}", r.status, r.body))
    }

    /// A WebSocket handshake from `local` with extra `headers`: the client, or the HTTP
    /// answer that refused it.
    pub async fn connect_from(
        &self,
        local: IpAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Client, Refused> {
        let mut req = format!("ws://{}{}", self.addr, path)
            .into_client_request()
            .unwrap();
        for (name, value) in headers {
            req.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let handshake = async {
            let stream = self.tcp_from(local).await;
            tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)).await
        };
        match tokio::time::timeout(WAIT, handshake)
            .await
            .expect("connect timed out")
        {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(tungstenite::Error::Http(res)) => Err(Refused {
                status: res.status().as_u16(),
                retry_after: res
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned()),
                body: String::from_utf8_lossy(res.body().as_deref().unwrap_or_default())
                    .into_owned(),
            }),
            Err(e) => panic!("connect from {local} failed: {e}"),
        }
    }

    /// A plain HTTP GET; returns (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.request("GET", path, "").await;
        (status, body)
    }

    /// A plain HTTP request with `extra` header lines (each ending in CRLF); returns
    /// (status, lower-cased headers, body).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        extra: &str,
    ) -> (u16, HashMap<String, String>, String) {
        http_request(self.addr, method, path, extra).await
    }

    /// A plain HTTP GET from `local`; returns (status, body).
    pub async fn get_from(&self, local: IpAddr, path: &str) -> (u16, String) {
        let (status, _, body) = http_request_on(self.tcp_from(local).await, "GET", path, "").await;
        (status, body)
    }

    /// A TCP connection to the server from `local`.
    async fn tcp_from(&self, local: IpAddr) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(local, 0)).unwrap();
        socket.connect(self.addr).await.unwrap()
    }

    /// Trigger graceful shutdown and wait for `run` to return.
    pub async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("server did not stop in time")
            .unwrap()
            .unwrap();
    }
}

/// A protocol client of the server at `addr`, after its `welcome`.
pub async fn protocol_at(addr: SocketAddr, path: &str) -> (Client, Value) {
    let mut c = connect_to(addr, path, Some("ballroom.v1")).await;
    let welcome = c.recv_type("welcome").await;
    (c, welcome)
}

/// A WebSocket client of the server at `addr`, with `subprotocol` if given.
pub async fn connect_to(addr: SocketAddr, path: &str, subprotocol: Option<&str>) -> Client {
    let mut req = format!("ws://{}{}", addr, path)
        .into_client_request()
        .unwrap();
    if let Some(p) = subprotocol {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    let (ws, res) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    if let Some(p) = subprotocol {
        assert_eq!(
            res.headers().get("Sec-WebSocket-Protocol").unwrap(),
            p,
            "server must confirm the subprotocol"
        );
    }
    Client { ws }
}

/// A plain HTTP request to `addr` with `extra` header lines (each ending in CRLF);
/// returns (status, lower-cased headers, body).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
) -> (u16, HashMap<String, String>, String) {
    http_request_on(TcpStream::connect(addr).await.unwrap(), method, path, extra).await
}

/// A plain HTTP request on the connection `s`.
pub async fn http_request_on(
    mut s: TcpStream,
    method: &str,
    path: &str,
    extra: &str,
) -> (u16, HashMap<String, String>, String) {
    let req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("http response timed out")
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// A handshake answered with an HTTP error instead of `101`.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Client {
    pub async fn send(&mut self, msg: Message) {
        self.ws.send(msg).await.unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text)).await;
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// The next frame (ping/pong excluded), failing the test after `WAIT`.
    pub async fn next(&mut self) -> Message {
        self.try_next(WAIT).await.expect("no message in time")
    }

    /// The next frame within `wait`, or None.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("connection ended"),
                Ok(Some(Err(e))) => panic!("read error: {e}"),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(m))) => return Some(m),
            }
        }
    }

    /// The next text frame, parsed.
    pub async fn next_json(&mut self) -> Value {
        match self.next().await {
            Message::Text(t) => serde_json::from_str(&t).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Skip messages until one whose `type` is `ty`.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        self.recv_until(|v| v["type"] == ty).await
    }

    /// Skip messages until the next one whose `type` is `ty`, returning its raw text.
    pub async fn recv_raw(&mut self, ty: &str, wait: Duration) -> String {
        self.recv_text_until(wait, |v| v["type"] == ty).await.0
    }

    /// Skip messages until one that satisfies `pred`.
    pub async fn recv_until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.recv_until_within(WAIT, pred).await
    }

    /// Skip messages until one that satisfies `pred`, for at most `wait`.
    pub async fn recv_until_within(
        &mut self,
        wait: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        self.recv_text_until(wait, pred).await.1
    }

    /// Skip messages until a JSON text frame that satisfies `pred`: its text and value.
    async fn recv_text_until(
        &mut self,
        wait: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> (String, Value) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self
                .try_next(left)
                .await
                .expect("expected message never came");
            if let Message::Text(t) = msg {
                if let Ok(v) = serde_json::from_str::<Value>(&t) {
                    if pred(&v) {
                        return (t.to_string(), v);
                    }
                }
            }
        }
    }

    /// Every frame that arrives within `wait`.
    pub async fn collect(&mut self, wait: Duration) -> Vec<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        while let Some(m) = self
            .try_next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            out.push(m);
        }
        out
    }

    /// Read until the server's close frame and return it.
    pub async fn expect_close(&mut self) -> Option<CloseFrame> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => panic!("no close frame in time"),
                Ok(Some(Ok(Message::Close(frame)))) => return frame,
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => panic!("read error before close: {e}"),
                Ok(None) => panic!("connection ended without a close frame"),
            }
        }
    }
}

/// The value of the first series of `/metrics` text named `name` whose labels contain
/// `labels` (for example `reason="too_slow"`).
pub fn sample(metrics: &str, name: &str, labels: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            let (series, _) = l.rsplit_once(' ').unwrap_or((l, ""));
            (series == name || series.starts_with(&format!("{name}{{"))) && series.contains(labels)
        })
        .and_then(|l| l.rsplit_once(' ')?.1.parse().ok())
}

/// The ball with `id` in a snapshot.
pub fn ball(snapshot: &Value, id: u64) -> &Value {
    snapshot["balls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()
}

pub fn vec3(v: &Value) -> [f64; 3] {
    let a = v.as_array().unwrap();
    [
        a[0].as_f64().unwrap(),
        a[1].as_f64().unwrap(),
        a[2].as_f64().unwrap(),
    ]
}

/// The real server binary on 127.0.0.1:0, killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: String,
}

impl ServerProcess {
    /// Start `ballroom --addr 127.0.0.1:0 ARGS`; the first log line names the address.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::start_binary(env!("CARGO_BIN_EXE_ballroom"), args)
    }

    /// [`start`](Self::start) with another build of the server (measurements compare
    /// builds).
    pub fn start_binary(binary: &str, args: &[&str]) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(binary)
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ballroom starts");
        // The first log line names the bound address.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .unwrap_or_else(|| panic!("no addr in {line:?}"))
            .to_owned();
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        ServerProcess { child, addr }
    }
}

impl ServerProcess {
    /// Send the process signal `name` (`TERM`, `HUP`, …).
    #[cfg(unix)]
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Wait (at most `limit`) for the process to exit; its status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        exited_within(&mut self.child, limit)
            .unwrap_or_else(|| panic!("still running after {limit:?}"))
    }
}

/// The exit status of `child` once it has exited, or None if it is still running after
/// `limit`.
pub fn exited_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    poll_blocking(limit, || child.try_wait().unwrap())
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
