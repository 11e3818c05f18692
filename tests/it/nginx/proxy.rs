//! A real nginx in front of a test's server: the configuration written to a directory of
//! the test's own, `nginx -g 'daemon off; master_process off;'` as a child process killed
//! on drop, and WebSocket clients that reach it over plain TCP or TLS, from a chosen
//! loopback address.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, http::HeaderName};

use crate::support::{Refused, WAIT, poll_blocking};

/// The seed tutorial's location block, verbatim: no forwarding header, no read timeout.
/// Its upstream, `127.0.0.1:8080`, becomes the test server's port.
pub const TUTORIAL_BLOCK: &str = r#"location /broadcast {
    proxy_pass http://127.0.0.1:8080;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "Upgrade";
}"#;

/// docs/deploy.md's recommended block: the tutorial's, naming each player in `X-Real-IP`.
pub const RECOMMENDED_BLOCK: &str = r#"location /broadcast {
    proxy_pass http://127.0.0.1:8080;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "Upgrade";
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_read_timeout 3600s;
}"#;

/// Any stream a WebSocket client can run over: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type Socket = WebSocketStream<Box<dyn Io>>;

/// nginx, running until dropped.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
    entry: Entry,
}

/// How a client reaches nginx: its address, and a TLS client when it serves TLS. Cheap to
/// clone into a task per player.
#[derive(Clone)]
pub struct Entry {
    addr: SocketAddr,
    tls: Option<TlsConnector>,
}

/// nginx's path: `$NGINX`, else Debian's.
fn binary() -> PathBuf {
    let path = std::env::var_os("NGINX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    assert!(
        path.exists(),
        "{} not found: these tests run Debian's nginx-light \
         (`apt-get install nginx-light`; scripts/test.sh and .ci/run install it as root), \
         or set NGINX to an nginx binary",
        path.display()
    );
    path
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nginx {
    /// nginx serving `block` (its upstream pointed at `upstream`), plain or with TLS.
    pub fn start(test: &str, block: &str, upstream: SocketAddr, tls: bool) -> Nginx {
        let dir =
            std::env::temp_dir().join(format!("ballroom-nginx-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let block = block.replace("http://127.0.0.1:8080", &format!("http://{upstream}"));
        let (listen, certificate, connector) = if tls {
            let (lines, connector) = self_signed(&dir);
            ("ssl", lines, Some(connector))
        } else {
            ("", String::new(), None)
        };
        // nginx may fail to bind a port just found free (another test took it): try again.
        for _ in 0..5 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let d = dir.display();
            let conf = format!(
                "worker_processes 1;\n\
                 worker_rlimit_nofile 16384;\n\
                 pid {d}/nginx.pid;\n\
                 error_log {d}/error.log warn;\n\
                 events {{ worker_connections 8192; }}\n\
                 http {{\n\
                 access_log off;\n\
                 client_body_temp_path {d}/body;\n\
                 proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n\
                 uwsgi_temp_path {d}/uwsgi;\n\
                 scgi_temp_path {d}/scgi;\n\
                 server {{\n\
                 listen {addr} {listen};\n\
                 server_name localhost;\n\
                 {certificate}\n\
                 {block}\n\
                 }}\n\
                 }}\n"
            );
            std::fs::write(dir.join("nginx.conf"), conf).unwrap();
            let child = Command::new(binary())
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .args(["-g", "daemon off; master_process off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts");
            let mut nginx = Nginx {
                child,
                addr,
                dir: dir.clone(),
                entry: Entry {
                    addr,
                    tls: connector.clone(),
                },
            };
            if nginx.wait_listening() {
                return nginx;
            }
        }
        panic!("nginx did not start: {}", error_log(&dir));
    }

    /// Whether nginx listens (false: it exited, most likely on a port taken meanwhile).
    fn wait_listening(&mut self) -> bool {
        // nginx has no readiness signal to await: its port is polled.
        poll_blocking(WAIT, || {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(false);
            }
            std::net::TcpStream::connect(self.addr)
                .is_ok()
                .then_some(true)
        })
        .unwrap_or(false)
    }

    /// How clients reach this nginx.
    pub fn entry(&self) -> Entry {
        self.entry.clone()
    }

    /// nginx's error log so far (for a failure's message).
    pub fn errors(&self) -> String {
        error_log(&self.dir)
    }
}

impl Entry {
    /// A WebSocket handshake through nginx from `from` (a loopback address) on `path`,
    /// offering `subprotocol`: the socket, or the HTTP answer that refused it.
    pub async fn connect(
        &self,
        from: IpAddr,
        path: &str,
        subprotocol: Option<&str>,
    ) -> Result<Socket, Refused> {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        let mut req = format!("{scheme}://localhost:{}{path}", self.addr.port())
            .into_client_request()
            .unwrap();
        if let Some(p) = subprotocol {
            req.headers_mut().insert(
                HeaderName::from_static("sec-websocket-protocol"),
                p.parse().unwrap(),
            );
        }
        let handshake = async {
            let io = self.stream_from(from).await;
            tokio_tungstenite::client_async(req, io).await
        };
        match tokio::time::timeout(WAIT * 2, handshake).await {
            Err(_) => Err(Refused {
                status: 0,
                retry_after: None,
                body: "handshake timed out".into(),
            }),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(res))) => Err(Refused {
                status: res.status().as_u16(),
                retry_after: res
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap_or_default().to_owned()),
                body: String::from_utf8_lossy(res.body().as_deref().unwrap_or_default())
                    .into_owned(),
            }),
            Ok(Err(e)) => Err(Refused {
                status: 0,
                retry_after: None,
                body: e.to_string(),
            }),
        }
    }

    /// A connection to nginx from `from`, through TLS when it serves TLS.
    async fn stream_from(&self, from: IpAddr) -> Box<dyn Io> {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from, 0)).unwrap();
        let tcp: TcpStream = socket.connect(self.addr).await.unwrap();
        match &self.tls {
            None => Box::new(tcp),
            Some(connector) => Box::new(
                connector
                    .connect(ServerName::try_from("localhost").unwrap(), tcp)
                    .await
                    .expect("TLS handshake with nginx"),
            ),
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn error_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
}

/// A self-signed certificate for `localhost` in `dir` (certbot's stand-in): nginx's
/// `ssl_certificate` lines, and a client that trusts exactly it.
fn self_signed(dir: &Path) -> (String, TlsConnector) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(generated.cert.der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let lines = format!(
        "ssl_certificate {};\nssl_certificate_key {};",
        cert.display(),
        key.display()
    );
    (lines, TlsConnector::from(Arc::new(client)))
}
