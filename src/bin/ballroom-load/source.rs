//! Source addresses: against a loopback target, clients connect from several loopback
//! addresses in turn (127.0.1.1, 127.0.1.2, …), so that the server's per-address limits
//! (`--max-connections-per-ip`, `--handshakes-per-ip` with its burst) see a crowd of
//! addresses, as they would from real players, rather than thousands of connections from
//! one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpSocket;

use crate::args::Args;

/// Clients per source address by default: well under the server's default caps (256
/// connections and a burst of 100 handshakes per address), so that even every client of
/// one address connecting at once gets in.
pub const CLIENTS_PER_ADDRESS: u64 = 50;

/// How many source addresses the run uses: `--source-addresses`, or by default one per
/// `CLIENTS_PER_ADDRESS` sockets for an IPv4 loopback target (1 otherwise: no binding).
/// Checks that the last of them can be bound here.
pub fn plan(args: &Args, target: SocketAddr) -> Result<u32, String> {
    let loopback_v4 = matches!(target.ip(), IpAddr::V4(v4) if v4.is_loopback());
    let sockets = u64::from(args.clients) + args.extra_clients();
    let count = match args.source_addresses {
        Some(n) => n,
        None if loopback_v4 => sockets.div_ceil(CLIENTS_PER_ADDRESS).max(1) as u32,
        None => 1,
    };
    if count > 1 {
        if !loopback_v4 {
            return Err(format!(
                "--source-addresses {count}: spreading clients over source addresses needs an \
                 IPv4 loopback target, not {target}"
            ));
        }
        let last = address(count as usize - 1);
        std::net::TcpListener::bind((last, 0)).map_err(|e| {
            format!(
                "cannot bind the source address {last} ({e}); this system may not route all \
                 of 127.0.0.0/8 to loopback. Use --source-addresses 1 and start the server \
                 with higher --max-connections-per-ip and --handshakes-per-ip"
            )
        })?;
    }
    Ok(count)
}

/// The `i`-th source address (from 0): 127.0.1.1, …, 127.0.1.254, 127.0.2.1, …
fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1 + (i / 254) as u8, 1 + (i % 254) as u8)
}

/// The run's source addresses, handed out in turn.
pub struct Sources {
    count: usize,
    next: AtomicUsize,
}

impl Sources {
    pub fn new(count: u32) -> Sources {
        Sources {
            count: count as usize,
            next: AtomicUsize::new(0),
        }
    }

    /// A socket for `target`, bound to the next source address (unbound with just one).
    pub fn socket(&self, target: SocketAddr) -> std::io::Result<TcpSocket> {
        if target.is_ipv6() {
            return TcpSocket::new_v6();
        }
        let socket = TcpSocket::new_v4()?;
        if self.count > 1 {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.count;
            socket.bind(SocketAddr::new(address(i).into(), 0))?;
        }
        Ok(socket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::MAX_SOURCE_ADDRESSES;

    #[test]
    fn addresses_skip_network_and_broadcast_bytes() {
        assert_eq!(address(0), Ipv4Addr::new(127, 0, 1, 1));
        assert_eq!(address(253), Ipv4Addr::new(127, 0, 1, 254));
        assert_eq!(address(254), Ipv4Addr::new(127, 0, 2, 1));
        let last = address(MAX_SOURCE_ADDRESSES as usize - 1);
        assert_eq!(last, Ipv4Addr::new(127, 0, 254, 254));
    }
}
