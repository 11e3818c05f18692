//! Start-up checks before anything connects: the arguments, the target address (loopback
//! only unless allowed), the source addresses, file descriptors, the server PID.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use crate::args::Args;
use crate::proc_stat::read_cpu_ticks;
use crate::source;

/// File descriptors kept for everything that is not a client socket.
const SPARE_FDS: u64 = 100;

/// What the checks found out, for the run and its report.
pub struct Prepared {
    pub target: SocketAddr,
    /// What goes in the URL (and so the Host header): the address as the user gave it.
    pub host: String,
    pub fd_limit: Option<u64>,
    /// How many local addresses the clients connect from.
    pub source_addresses: u32,
}

pub fn prepare(args: &Args) -> Result<Prepared, String> {
    args.check()?;
    let target = resolve_target(&args.addr, args.allow_remote)?;
    let source_addresses = source::plan(args, target)?;

    if let Some(pid) = args.server_pid {
        read_cpu_ticks(pid)
            .map_err(|e| format!("--server-pid {pid}: cannot read /proc/{pid}/stat: {e}"))?;
    }

    let fd_limit = raise_fd_limit();
    let needed = u64::from(args.clients) + args.extra_clients() + SPARE_FDS;
    if let Some(soft) = fd_limit
        && needed > soft
    {
        return Err(format!(
            "{} clients need about {needed} file descriptors but this process may open only \
             {soft} (RLIMIT_NOFILE) and could not raise it; run `ulimit -n 65536` in this \
             shell first, or use fewer --clients",
            args.clients
        ));
    }
    Ok(Prepared {
        target,
        host: args.addr.clone(),
        fd_limit,
        source_addresses,
    })
}

/// Resolve `addr` and refuse anything but loopback unless `allow_remote`. No connection is
/// attempted here.
fn resolve_target(addr: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let resolved: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("--addr {addr}: cannot resolve (expected HOST:PORT): {e}"))?
        .collect();
    let Some(&first) = resolved.first() else {
        return Err(format!("--addr {addr}: resolves to no address"));
    };
    if !allow_remote && let Some(bad) = resolved.iter().find(|a| !is_loopback(a.ip())) {
        return Err(format!(
            "refusing to load {addr}: it resolves to {}, which is not a loopback address \
             (127.0.0.0/8 or ::1); ballroom-load only targets loopback unless \
             --allow-remote is given",
            bad.ip()
        ));
    }
    Ok(first)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Raise the soft RLIMIT_NOFILE to the hard limit and return the soft limit now in force
/// (None where the platform has no such limit or it cannot be read).
fn raise_fd_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}
