//! Native TLS: a `wss://` handshake with a certificate generated here, and a kick over it;
//! renewal, picked up by the file poll (in process) and on SIGHUP (the real binary), while
//! a connection made with the old certificate stays in its room; a broken pair that leaves
//! the old certificate in place and is counted in `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{self, config, start};
use futures_util::{SinkExt, StreamExt};
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// The longest a reload may take to show, from the files' change or the signal.
const RELOAD_WAIT: Duration = Duration::from_secs(10);

/// A self-signed certificate for `localhost` and its key.
struct Identity {
    cert_pem: String,
    key_pem: String,
    /// The certificate as a handshake presents it.
    der: Vec<u8>,
}

fn identity() -> Identity {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    Identity {
        cert_pem: generated.cert.pem(),
        key_pem: generated.signing_key.serialize_pem(),
        der: generated.cert.der().to_vec(),
    }
}

/// `cert.pem` and `key.pem` in a directory of the test's own, removed on drop.
struct CertFiles {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl CertFiles {
    fn new(test: &str) -> CertFiles {
        let dir = std::env::temp_dir().join(format!("ballroom-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        CertFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        }
    }

    /// Replace both files as certbot does: each written beside its path, then renamed over
    /// it (a reader sees the old file or the new one, but may see a new certificate with
    /// the old key in between).
    fn install(&self, identity: &Identity) {
        self.replace_cert(&identity.cert_pem);
        replace(&self.key, &identity.key_pem);
    }

    fn replace_cert(&self, pem: &str) {
        replace(&self.cert, pem);
    }

    fn args(&self) -> [&str; 4] {
        [
            "--tls-cert",
            self.cert.to_str().unwrap(),
            "--tls-key",
            self.key.to_str().unwrap(),
        ]
    }
}

impl Drop for CertFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn replace(path: &std::path::Path, contents: &str) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, contents).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A client that trusts exactly these certificates.
fn trusting(identities: &[&Identity]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for identity in identities {
        roots
            .add(CertificateDer::from(identity.der.clone()))
            .unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(client))
}

/// A TLS connection to `addr` as `localhost`, and the certificate the server presented.
async fn handshake(addr: SocketAddr, connector: &TlsConnector) -> (TlsStream<TcpStream>, Vec<u8>) {
    let connect = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("TLS handshake")
    };
    let tls = tokio::time::timeout(support::WAIT, connect)
        .await
        .expect("TLS handshake in time");
    let presented = tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec();
    (tls, presented)
}

/// A protocol client in room `path` (after its `welcome`), and the certificate it was shown.
async fn join(addr: SocketAddr, connector: &TlsConnector, path: &str) -> (Wss, Vec<u8>) {
    let (tls, presented) = handshake(addr, connector).await;
    let upgrade = tokio_tungstenite::client_async(format!("wss://localhost{path}"), tls);
    let (mut ws, _) = tokio::time::timeout(support::WAIT, upgrade)
        .await
        .expect("WebSocket handshake in time")
        .expect("WebSocket handshake over TLS");
    next_of(&mut ws, "welcome").await;
    (ws, presented)
}

/// Handshake again and again until the server presents `want` (the reload has happened).
async fn wait_until_presented(addr: SocketAddr, connector: &TlsConnector, want: &Identity) {
    support::eventually_within("the new certificate presented", RELOAD_WAIT, || async {
        (handshake(addr, connector).await.1 == want.der).then_some(())
    })
    .await;
}

/// `GET path` over TLS; the response body.
async fn https_get(addr: SocketAddr, connector: &TlsConnector, path: &str) -> String {
    let (mut tls, _) = handshake(addr, connector).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(support::WAIT, tls.read_to_end(&mut response))
        .await
        .expect("response in time")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// `ballroom_tls_reloads_total{result="…"}` as `/metrics` shows it.
async fn reloads(addr: SocketAddr, connector: &TlsConnector, result: &str) -> Option<f64> {
    let series = format!("ballroom_tls_reloads_total{{result=\"{result}\"}} ");
    https_get(addr, connector, "/metrics")
        .await
        .lines()
        .find_map(|line| line.strip_prefix(&series)?.parse().ok())
}

/// Read `/metrics` until the failed reloads reach `want`.
async fn wait_for_failed_reloads(addr: SocketAddr, connector: &TlsConnector, want: f64) {
    support::eventually_within(
        &format!("failed reloads reach {want}"),
        RELOAD_WAIT,
        || async { (reloads(addr, connector, "failed").await == Some(want)).then_some(()) },
    )
    .await;
}

async fn next_of(ws: &mut Wss, ty: &str) -> Value {
    next_where(ws, |v| v["type"] == ty).await
}

async fn next_where(ws: &mut Wss, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let msg = tokio::time::timeout(support::WAIT, ws.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if wanted(&v) {
                return v;
            }
        }
    }
}

/// Kick ball 0 (with a `seq` unique in the room) and see the kick announced, then three snapshots of advancing ticks: the
/// connection is alive both ways.
async fn kick_and_watch(ws: &mut Wss, seq: u64) {
    ws.send(Message::text(
        json!({"type":"kick","ball":0,"impulse":[0,0,20],"seq":seq}).to_string(),
    ))
    .await
    .unwrap();
    // Every member hears every kick: this one is known by its `seq`.
    let kick = next_where(ws, |v| v["type"] == "kick" && v["seq"] == seq).await;
    assert_eq!(kick["ball"].as_u64(), Some(0));
    let mut last_tick = 0;
    for _ in 0..3 {
        let tick = next_of(ws, "snapshot").await["tick"].as_u64().unwrap();
        assert!(tick > last_tick, "tick {tick} after {last_tick}");
        last_tick = tick;
    }
}

#[tokio::test]
async fn a_kick_over_wss_with_a_generated_certificate() {
    let a = identity();
    let files = CertFiles::new("tls-kick");
    files.install(&a);
    let mut cfg = config();
    cfg.tls_cert = Some(files.cert.clone());
    cfg.tls_key = Some(files.key.clone());
    let server = start(cfg).await;

    let (mut ws, presented) = join(server.addr, &trusting(&[&a]), "/secure?scene=kickballs").await;
    assert_eq!(presented, a.der);
    kick_and_watch(&mut ws, 1).await;

    // A plain-text client gets nowhere on the TLS port.
    let plain = tokio_tungstenite::connect_async(format!("ws://{}/secure", server.addr)).await;
    assert!(plain.is_err());
    server.stop().await;
}

#[tokio::test]
async fn renewed_files_are_polled_in_and_an_open_connection_keeps_its_room() {
    let (a, b) = (identity(), identity());
    let files = CertFiles::new("tls-poll");
    files.install(&a);
    let mut cfg = config();
    cfg.tls_cert = Some(files.cert.clone());
    cfg.tls_key = Some(files.key.clone());
    cfg.tls_reload_interval = Duration::from_millis(200);
    let server = start(cfg).await;
    let client = trusting(&[&a, &b]);

    let (mut first, presented) = join(server.addr, &client, "/renewal?scene=kickballs").await;
    assert_eq!(presented, a.der);
    kick_and_watch(&mut first, 1).await;

    files.install(&b);
    wait_until_presented(server.addr, &client, &b).await;
    let (mut second, presented) = join(server.addr, &client, "/renewal?protocol=json").await;
    assert_eq!(presented, b.der);
    // The connection made with A is still in the room, beside the one made with B.
    kick_and_watch(&mut first, 2).await;
    kick_and_watch(&mut second, 3).await;
    server.stop().await;
}

/// The real binary serving certificate A (reloading on SIGHUP only, no poll), and a client
/// that trusts A and B.
#[cfg(unix)]
struct Binary {
    a: Identity,
    b: Identity,
    files: CertFiles,
    process: support::ServerProcess,
    addr: SocketAddr,
    client: TlsConnector,
}

#[cfg(unix)]
impl Binary {
    fn start(test: &str) -> Binary {
        let (a, b) = (identity(), identity());
        let files = CertFiles::new(test);
        files.install(&a);
        let mut args = files.args().to_vec();
        args.extend(["--tls-reload-interval", "0"]);
        let process = support::ServerProcess::start(&args);
        let addr: SocketAddr = process.addr.parse().unwrap();
        let client = trusting(&[&a, &b]);
        Binary {
            a,
            b,
            files,
            process,
            addr,
            client,
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_makes_the_binary_present_the_renewed_certificate() {
    let Binary {
        a,
        b,
        files,
        process,
        addr,
        client,
    } = Binary::start("tls-sighup");

    let (mut first, presented) = join(addr, &client, "/renewal?scene=kickballs").await;
    assert_eq!(presented, a.der);
    kick_and_watch(&mut first, 1).await;

    files.install(&b);
    process.signal("HUP");
    wait_until_presented(addr, &client, &b).await;
    kick_and_watch(&mut first, 2).await;
    // This process's own recorder: exact counts.
    assert_eq!(reloads(addr, &client, "ok").await, Some(1.0));
    assert_eq!(reloads(addr, &client, "failed").await, Some(0.0));
}

#[cfg(unix)]
#[tokio::test]
async fn a_broken_pair_keeps_the_previous_certificate_and_is_counted() {
    let Binary {
        a,
        b,
        files,
        process,
        addr,
        client,
    } = Binary::start("tls-broken");
    let (mut first, _) = join(addr, &client, "/broken?scene=kickballs").await;

    files.replace_cert("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
    process.signal("HUP");
    wait_for_failed_reloads(addr, &client, 1.0).await;
    assert_eq!(handshake(addr, &client).await.1, a.der);

    // B's certificate with A's key.
    files.replace_cert(&b.cert_pem);
    process.signal("HUP");
    wait_for_failed_reloads(addr, &client, 2.0).await;
    assert_eq!(handshake(addr, &client).await.1, a.der);
    assert_eq!(reloads(addr, &client, "ok").await, Some(0.0));
    kick_and_watch(&mut first, 1).await;
}
