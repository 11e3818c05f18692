//! Whose connection this is: the peer's own address, or, when the peer is a proxy in
//! `--trusted-proxies`, the client address it names in `--real-ip-header`. A forwarding
//! header from any other peer is ignored, whatever it says.
//!
//! By default the trusted proxies are this host's (`loopback`). The tutorial's nginx, which
//! forwards to `127.0.0.1:8080` and names nobody, is then a proxy whose clients cannot be
//! told apart ([`ClientAddress::Unnamed`]): the per-address limits leave them alone instead
//! of lumping a whole crowd into one address. With `proxy_set_header X-Real-IP
//! $remote_addr;` each client is counted as itself.
//!
//! Every address is canonical: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a
//! dual-stack listener reports for an IPv4 peer) is the IPv4 address.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use hyper::HeaderMap;
use hyper::header::HeaderName;
use ipnet::IpNet;
use tracing::warn;

use crate::config::RealIpHeader;

const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Who a request is from, as far as the per-address limits are concerned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientAddress {
    /// A peer that is not a trusted proxy: its own address.
    Peer(IpAddr),
    /// A trusted proxy's client, named in the header.
    Forwarded(IpAddr),
    /// A trusted proxy that named no client (no header, or one that does not parse): its
    /// clients cannot be told apart, and counting them all as the proxy's one address would
    /// refuse a crowd, so the per-address limits do not apply to them (the global ones do).
    /// The address is the proxy's.
    Unnamed(IpAddr),
}

impl ClientAddress {
    /// The address the limits count.
    pub fn ip(self) -> IpAddr {
        match self {
            ClientAddress::Peer(ip) | ClientAddress::Forwarded(ip) | ClientAddress::Unnamed(ip) => {
                ip
            }
        }
    }

    /// Whether the per-address limits count this client.
    pub fn limited(self) -> bool {
        !matches!(self, ClientAddress::Unnamed(_))
    }

    /// How the address was learnt: the `via` label of a refusal in `/metrics` and the log.
    pub fn via(self) -> &'static str {
        match self {
            ClientAddress::Peer(_) => "direct",
            ClientAddress::Forwarded(_) => "proxy",
            ClientAddress::Unnamed(_) => "proxy_unnamed",
        }
    }

    /// Whether the request came through a trusted proxy (whose connection was not counted
    /// against any address when it was accepted).
    pub fn via_proxy(self) -> bool {
        !matches!(self, ClientAddress::Peer(_))
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.ip().fmt(f)
    }
}

/// `--trusted-proxies` and `--real-ip-header`.
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: RealIpHeader,
    /// Each operator hint is logged once per server, not per request.
    hinted_untrusted: AtomicBool,
    hinted_unnamed: AtomicBool,
}

impl TrustedProxies {
    /// `nets` as `config::cidr` parsed them (IPv4-mapped networks already IPv4).
    pub fn new(nets: &[IpNet], header: RealIpHeader) -> TrustedProxies {
        TrustedProxies {
            nets: nets.to_vec(),
            header,
            hinted_untrusted: AtomicBool::new(false),
            hinted_unnamed: AtomicBool::new(false),
        }
    }

    /// Whether `peer` (any form) is a trusted proxy.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.nets.iter().any(|net| net.contains(&peer))
    }

    /// Who a request from `peer` with `headers` is from.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddress {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            if !headers.contains_key(self.header_name()) {
                return ClientAddress::Peer(peer);
            }
            // A peer that is not trusted names a client: a client lying, or a proxy the
            // operator has not listed, whose every client now counts as one address.
            if !self.hinted_untrusted.swap(true, Ordering::Relaxed) {
                warn!(
                    %peer,
                    header = %self.header_name(),
                    "ignoring a client address header from a peer not in --trusted-proxies \
                     (logged once); if it is your proxy, add it there \
                     (for example --trusted-proxies loopback,{peer})"
                );
            }
            return ClientAddress::Peer(peer);
        }
        match self.named(headers) {
            Some(client) => ClientAddress::Forwarded(client),
            None => {
                if !self.hinted_unnamed.swap(true, Ordering::Relaxed) {
                    warn!(
                        %peer,
                        header = %self.header_name(),
                        "clients are arriving through a proxy that does not name them (logged \
                         once): ballroom cannot tell them apart, so the limits per client \
                         address do not apply to them (--max-connections and the other global \
                         limits still do). To limit each player by its own address, add \
                         `proxy_set_header X-Real-IP $remote_addr;` to nginx's location block \
                         and run `nginx -s reload`"
                    );
                }
                ClientAddress::Unnamed(peer)
            }
        }
    }

    fn header_name(&self) -> HeaderName {
        match self.header {
            RealIpHeader::XRealIp => X_REAL_IP,
            RealIpHeader::XForwardedFor => X_FORWARDED_FOR,
        }
    }

    /// The client named in the configured header, if it names one.
    fn named(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let mut values = headers.get_all(self.header_name()).into_iter();
        match self.header {
            RealIpHeader::XRealIp => {
                let value = values.next()?;
                if values.next().is_some() {
                    return None; // two answers to one question: believe neither
                }
                parse_address(value.to_str().ok()?)
            }
            RealIpHeader::XForwardedFor => {
                // Every header line, in order, is one list. Each proxy appends the address
                // it saw, so walk from the right past the trusted proxies: the first other
                // address is the client; anything left of it the client may have written.
                let mut hops = Vec::new();
                for value in values {
                    hops.extend(value.to_str().ok()?.split(','));
                }
                let mut last = None;
                for hop in hops.iter().rev() {
                    let ip = parse_address(hop)?;
                    if !self.trusts(ip) {
                        return Some(ip);
                    }
                    last = Some(ip);
                }
                last // every hop a trusted proxy: the farthest one
            }
        }
    }
}

/// One address as proxies write it: `10.0.0.1`, `2001:db8::1`, and the forms with a port
/// some add (`10.0.0.1:5555`, `[2001:db8::1]:5555`); canonical.
fn parse_address(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .or_else(|_| s.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProxyNets;
    use hyper::header::HeaderValue;

    fn proxies(nets: &[&str], header: RealIpHeader) -> TrustedProxies {
        let nets: Vec<IpNet> = nets.iter().map(|n| n.parse().unwrap()).collect();
        TrustedProxies::new(&nets, header)
    }

    fn headers(lines: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in lines {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_itself_whatever_it_claims() {
        let p = proxies(&["127.0.0.1/32"], RealIpHeader::XRealIp);
        let h = headers(&[("x-real-ip", "10.0.0.1"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(
            p.client(ip("192.0.2.7"), &h),
            ClientAddress::Peer(ip("192.0.2.7"))
        );
        let none = proxies(&[], RealIpHeader::XRealIp);
        assert_eq!(
            none.client(ip("127.0.0.1"), &h),
            ClientAddress::Peer(ip("127.0.0.1"))
        );
    }

    #[test]
    fn a_trusted_proxy_names_its_client_in_x_real_ip() {
        let p = proxies(&["127.0.0.1/32", "10.0.0.0/8"], RealIpHeader::XRealIp);
        let h = headers(&[("x-real-ip", " 203.0.113.9 ")]);
        assert_eq!(
            p.client(ip("10.9.8.7"), &h),
            ClientAddress::Forwarded(ip("203.0.113.9"))
        );
        // The other header is not read: the proxy passes it on as the client wrote it.
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            p.client(ip("10.9.8.7"), &spoofed),
            ClientAddress::Unnamed(ip("10.9.8.7"))
        );
        let twice = headers(&[("x-real-ip", "203.0.113.9"), ("x-real-ip", "203.0.113.8")]);
        assert_eq!(
            p.client(ip("10.9.8.7"), &twice),
            ClientAddress::Unnamed(ip("10.9.8.7"))
        );
        let garbage = headers(&[("x-real-ip", "unknown")]);
        assert_eq!(
            p.client(ip("10.9.8.7"), &garbage),
            ClientAddress::Unnamed(ip("10.9.8.7"))
        );
        assert_eq!(
            p.client(
                ip("127.0.0.1"),
                &headers(&[("x-real-ip", "[2001:db8::1]:443")])
            ),
            ClientAddress::Forwarded(ip("2001:db8::1"))
        );
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right_past_trusted_proxies() {
        let p = proxies(&["127.0.0.1/32", "10.0.0.0/8"], RealIpHeader::XForwardedFor);
        let from = |lines| p.client(ip("127.0.0.1"), &headers(lines));
        // The client wrote the first entry itself; the proxies appended the rest.
        assert_eq!(
            from(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.1.1.1")]),
            ClientAddress::Forwarded(ip("198.51.100.4"))
        );
        // Several header lines are one list.
        assert_eq!(
            from(&[
                ("x-forwarded-for", "6.6.6.6"),
                ("x-forwarded-for", "198.51.100.4,10.1.1.1")
            ]),
            ClientAddress::Forwarded(ip("198.51.100.4"))
        );
        // Only proxies: the farthest.
        assert_eq!(
            from(&[("x-forwarded-for", "10.2.2.2, 10.1.1.1")]),
            ClientAddress::Forwarded(ip("10.2.2.2"))
        );
        // Garbage before the client is reached: nobody is named.
        assert_eq!(
            from(&[("x-forwarded-for", "198.51.100.4, junk, 10.1.1.1")]),
            ClientAddress::Unnamed(ip("127.0.0.1"))
        );
        assert_eq!(from(&[]), ClientAddress::Unnamed(ip("127.0.0.1")));
    }

    #[test]
    fn a_proxy_that_names_nobody_is_not_limited_per_address() {
        let p = TrustedProxies::new(ProxyNets::loopback().nets(), RealIpHeader::XRealIp);
        // The tutorial's nginx block: no forwarding header.
        for peer in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            let client = p.client(ip(peer), &HeaderMap::new());
            assert_eq!(client, ClientAddress::Unnamed(ip(peer).to_canonical()));
            assert!(!client.limited() && client.via_proxy());
            assert_eq!(client.via(), "proxy_unnamed");
        }
        // The recommended block names each player, who is limited as itself.
        let named = p.client(ip("127.0.0.1"), &headers(&[("x-real-ip", "198.51.100.7")]));
        assert_eq!(named, ClientAddress::Forwarded(ip("198.51.100.7")));
        assert!(named.limited());
        // From any other host the header is a claim nobody checked: ignored.
        let remote = p.client(ip("192.0.2.7"), &headers(&[("x-real-ip", "127.0.0.1")]));
        assert_eq!(remote, ClientAddress::Peer(ip("192.0.2.7")));
        assert!(remote.limited());
        assert_eq!(remote.via(), "direct");
        // `--trusted-proxies none`: a loopback peer is itself, as any other.
        let none = TrustedProxies::new(ProxyNets::none().nets(), RealIpHeader::XRealIp);
        assert_eq!(
            none.client(ip("127.0.0.1"), &HeaderMap::new()),
            ClientAddress::Peer(ip("127.0.0.1"))
        );
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let p = proxies(&["127.0.0.1/32"], RealIpHeader::XRealIp);
        let h = headers(&[("x-real-ip", "::ffff:203.0.113.9")]);
        let client = p.client(ip("::ffff:127.0.0.1"), &h);
        assert_eq!(client, ClientAddress::Forwarded(ip("203.0.113.9")));
        assert!(client.via_proxy());
        let direct = p.client(ip("::ffff:192.0.2.1"), &HeaderMap::new());
        assert_eq!(direct, ClientAddress::Peer(ip("192.0.2.1")));
        assert!(!direct.via_proxy());
    }
}
