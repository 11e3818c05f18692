//! Per-address limits over real sockets: clients bind loopback addresses of their own
//! (127.0.0.2, 127.0.0.3, …), so the server sees several addresses; one of them over its
//! limit is refused with 429 while the others get in. Forwarding headers count only from a
//! trusted proxy. A loopback peer is a trusted proxy by default (`--trusted-proxies
//! loopback`), so the tests of direct clients run with `--trusted-proxies none`, and those of
//! a proxy list it.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ballroom::config::{ProxyNets, RealIpHeader};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, Refused, Server, WAIT, config, poll, sample, start};

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The refusal of a handshake that must be refused.
async fn refused(server: &Server, from: IpAddr, headers: &[(&str, &str)]) -> Refused {
    match server.connect_from(from, "/limited", headers).await {
        Ok(_) => panic!("{from} {headers:?} got in over its limit"),
        Err(r) => r,
    }
}

/// Connect from `from`, retrying while refused, for at most `WAIT` (a closed connection's
/// place comes back once the server has seen it close).
async fn admitted_soon(server: &Server, from: IpAddr, headers: &[(&str, &str)]) -> Client {
    let admitted = poll(WAIT, || async {
        match server.connect_from(from, "/limited", headers).await {
            Err(r) if r.status == 429 => None,
            answer => Some(answer),
        }
    })
    .await;
    match admitted {
        Some(Ok(client)) => client,
        Some(Err(r)) => panic!("{from} {headers:?} refused: {r:?}"),
        None => panic!("{from} {headers:?} still refused after {WAIT:?}"),
    }
}

async fn rejected_total(server: &Server, reason: &str) -> f64 {
    let (_, metrics) = server.get("/metrics").await;
    sample(
        &metrics,
        "ballroom_rejected_total",
        &format!("reason=\"{reason}\""),
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn an_address_at_its_cap_is_refused_while_another_gets_in() {
    let mut cfg = config();
    cfg.trusted_proxies = ProxyNets::none();
    cfg.max_connections_per_ip = 3;
    let server = start(cfg).await;
    let (a, b) = (loopback(2), loopback(3));
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.plain_from(a, "/limited").await);
    }

    let r = refused(&server, a, &[]).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.retry_after.as_deref(), Some("5"), "{r:?}");
    assert!(r.body.contains("per_ip_connections"), "{r:?}");
    assert!(r.body.contains("at most 3"), "{r:?}");
    // Every connection of a direct client counts, plain HTTP too.
    assert_eq!(server.get_from(a, "/healthz").await.0, 429);

    // Another address gets in, and the room works for both.
    let mut other = server.plain_from(b, "/limited").await;
    other.send_text("from b").await;
    assert_eq!(held[0].next().await, Message::text("from b"));
    assert_eq!(other.next().await, Message::text("from b"), "its echo");
    assert_eq!(server.get_from(b, "/healthz").await.0, 200);

    // A closes one connection; its place comes back.
    let mut leaving = held.pop().unwrap();
    leaving.ws.close(None).await.unwrap();
    let mut back = admitted_soon(&server, a, &[]).await;
    back.send_text("a is back").await;
    assert_eq!(other.next().await, Message::text("a is back"));

    assert!(rejected_total(&server, "per_ip_connections").await >= 2.0);
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_handshakes_beyond_the_bucket_is_refused_with_retry_after() {
    let mut cfg = config();
    cfg.trusted_proxies = ProxyNets::none();
    // Slow enough that the refill cannot let the fourth in, however loaded the machine.
    cfg.handshakes_per_ip = 0.25;
    cfg.handshake_burst = 3;
    let server = start(cfg).await;
    let (c, d) = (loopback(4), loopback(5));
    for _ in 0..3 {
        drop(server.plain_from(c, "/limited").await);
    }
    let r = refused(&server, c, &[]).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body.contains("per_ip_handshake_rate"), "{r:?}");
    // The next token is at most 4 s away (0.25 a second); Retry-After says when.
    let retry_after: u64 = r.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=4).contains(&retry_after), "{r:?}");
    // Plain HTTP spends no handshake, and another address has its own bucket.
    assert_eq!(server.get_from(c, "/healthz").await.0, 200);
    drop(server.plain_from(d, "/limited").await);

    // Come back when told: the bucket has refilled a token. Stays a sleep: what is tested
    // is that Retry-After's time is enough, which polling sooner would not show.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    drop(server.plain_from(c, "/limited").await);

    assert!(rejected_total(&server, "per_ip_handshake_rate").await >= 1.0);
    server.stop().await;
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let mut cfg = config();
    cfg.max_connections_per_ip = 2;
    cfg.trusted_proxies = ProxyNets(vec!["127.0.0.1/32".parse().unwrap()]);
    let server = start(cfg).await;
    // 127.0.0.6 is not the trusted proxy: whatever it claims, it is 127.0.0.6.
    let spoofer = loopback(6);
    let _one = server
        .connect_from(spoofer, "/limited", &[("X-Real-IP", "203.0.113.1")])
        .await
        .unwrap();
    let _two = server
        .connect_from(spoofer, "/limited", &[("X-Forwarded-For", "203.0.113.2")])
        .await
        .unwrap();
    let r = refused(
        &server,
        spoofer,
        &[
            ("X-Real-IP", "203.0.113.3"),
            ("X-Forwarded-For", "203.0.113.3"),
        ],
    )
    .await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body.contains("per_ip_connections"), "{r:?}");
    // The address it claimed is not held against anyone: through the real proxy, it is
    // free.
    let _real = server
        .connect_from(loopback(1), "/limited", &[("X-Real-IP", "203.0.113.1")])
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_trusted_proxy_s_x_real_ip_is_the_address_counted() {
    let mut cfg = config();
    cfg.max_connections_per_ip = 2;
    cfg.trusted_proxies = ProxyNets(vec!["127.0.0.1/32".parse().unwrap()]);
    let server = start(cfg).await;
    let proxy = loopback(1);
    let first = [("X-Real-IP", "198.51.100.1")];
    let second = [("X-Real-IP", "198.51.100.2")];
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(
            server
                .connect_from(proxy, "/limited", &first)
                .await
                .unwrap(),
        );
    }
    let r = refused(&server, proxy, &first).await;
    assert_eq!(r.status, 429, "{r:?}");
    assert!(r.body.contains("per_ip_connections"), "{r:?}");
    // Each forwarded address has a cap of its own, and the proxy's own address (holding
    // four WebSockets now, over the cap of 2) counts for nothing.
    for _ in 0..2 {
        held.push(
            server
                .connect_from(proxy, "/limited", &second)
                .await
                .unwrap(),
        );
    }
    assert_eq!(refused(&server, proxy, &second).await.status, 429);
    assert_eq!(server.get_from(proxy, "/healthz").await.0, 200);
    // One of the first address's connections ends; its place comes back.
    let mut leaving = held.remove(0);
    leaving.ws.close(None).await.unwrap();
    let _back = admitted_soon(&server, proxy, &first).await;
    server.stop().await;
}

#[tokio::test]
async fn a_trusted_proxy_s_x_forwarded_for_counts_its_rightmost_untrusted_address() {
    let mut cfg = config();
    cfg.max_connections_per_ip = 2;
    cfg.trusted_proxies = ProxyNets(vec!["127.0.0.1/32".parse().unwrap()]);
    cfg.real_ip_header = RealIpHeader::XForwardedFor;
    let server = start(cfg).await;
    let proxy = loopback(1);
    // The proxy appended 198.51.100.7; whatever the client wrote before it is its own.
    let _a = server
        .connect_from(proxy, "/limited", &[("X-Forwarded-For", "198.51.100.7")])
        .await
        .unwrap();
    let _b = server
        .connect_from(
            proxy,
            "/limited",
            &[("X-Forwarded-For", "6.6.6.6, 198.51.100.7")],
        )
        .await
        .unwrap();
    let spoofed = [("X-Forwarded-For", "7.7.7.7, 198.51.100.7")];
    assert_eq!(refused(&server, proxy, &spoofed).await.status, 429);
    // X-Real-IP is not the configured header: ignored. The loopback proxy then names
    // nobody: its clients are not counted per address: the address it
    // claims in the other header, at its cap above, is not refused.
    let mut unnamed = Vec::new();
    for _ in 0..4 {
        unnamed.push(
            server
                .connect_from(proxy, "/limited", &[("X-Real-IP", "198.51.100.7")])
                .await
                .unwrap(),
        );
    }
    server.stop().await;
}
