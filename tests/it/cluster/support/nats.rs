//! NATS for the cluster tests: a `nats-server` with JetStream, and a proxy per node that
//! can cut that node off it.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::log::{Log, read_until};
use super::{START_WAIT, TempDir};
use crate::support::poll_blocking;

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
    poll_blocking(START_WAIT, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    })
    .unwrap_or_else(|| panic!("{addr} never accepted a connection"));
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
        let shared = Arc::new(CutterShared {
            upstream,
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
            proxied: AtomicU64::new(0),
        });
        let s = shared.clone();
        // Blocking accepts; `drop` wakes the last one with a connection of its own.
        let accept = std::thread::spawn(move || {
            for down in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(down) = down {
                    s.proxy(down);
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
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}
