//! The seed tutorial's nginx block, verbatim, in front of `ballroom --mode broadcast`: a
//! crowd of 1,000 players joining at 100 a second all get in, over plain HTTP and over TLS,
//! and a message one of them sends reaches every one. Every player reaches ballroom from
//! nginx's address with no forwarding header: a trusted proxy (loopback, by default) that
//! names nobody, whose clients the limits per client address leave alone. With
//! `--trusted-proxies none` (the old default) the same crowd shares one address's 256
//! connections and 20 handshakes a second, and most of it is refused with 429: the last test
//! runs that side by side, as the record of what this fixed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ballroom::config::{Mode, ProxyNets};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::proxy::{Nginx, Socket, TUTORIAL_BLOCK};
use crate::support::{WAIT, config, start};

const PLAYERS: usize = 1000;
/// 100 players a second.
const JOIN_EVERY: Duration = Duration::from_millis(10);

/// Who got in, and how the others were refused (HTTP status, 0 for no answer).
struct Crowd {
    players: Vec<Socket>,
    refused: BTreeMap<u16, usize>,
    first_refusal: Option<String>,
}

/// `PLAYERS` players joining `path` through `nginx`, one every `JOIN_EVERY`.
async fn join(nginx: &Nginx, path: &'static str) -> Crowd {
    let mut pace = tokio::time::interval(JOIN_EVERY);
    let mut joins = Vec::with_capacity(PLAYERS);
    for _ in 0..PLAYERS {
        pace.tick().await;
        let entry = nginx.entry();
        joins.push(tokio::spawn(async move {
            entry
                .connect(IpAddr::V4(Ipv4Addr::LOCALHOST), path, None)
                .await
        }));
    }
    let mut crowd = Crowd {
        players: Vec::with_capacity(PLAYERS),
        refused: BTreeMap::new(),
        first_refusal: None,
    };
    for join in joins {
        match join.await.unwrap() {
            Ok(ws) => crowd.players.push(ws),
            Err(r) => {
                *crowd.refused.entry(r.status).or_default() += 1;
                crowd
                    .first_refusal
                    .get_or_insert(format!("{} {}", r.status, r.body.trim()));
            }
        }
    }
    crowd
}

/// How many of `players` receive `text` within a generous bound.
async fn delivered(players: Vec<Socket>, text: &'static str) -> usize {
    let waits: Vec<_> = players
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let arrived = tokio::time::timeout(WAIT * 2, async {
                    while let Some(Ok(msg)) = ws.next().await {
                        if msg == Message::text(text) {
                            return true;
                        }
                    }
                    false
                })
                .await
                .unwrap_or(false);
                let _ = ws.close(None).await;
                arrived
            })
        })
        .collect();
    let mut n = 0;
    for w in waits {
        n += usize::from(w.await.unwrap());
    }
    n
}

/// What one crowd measured: players in, and how many of them the relayed message reached.
struct Outcome {
    admitted: usize,
    reached: usize,
    refused: BTreeMap<u16, usize>,
}

/// `PLAYERS` players through the tutorial's block in front of a broadcast server that trusts
/// `proxies`; a message from the first one in, sent to all.
async fn crowd_through_the_tutorial_block(tls: bool, proxies: ProxyNets) -> Outcome {
    // Three descriptors per player in this process and nginx's two: raise the soft limit.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let label = match (tls, proxies.nets().is_empty()) {
        (false, false) => "plain",
        (true, false) => "tls",
        (false, true) => "plain, --trusted-proxies none",
        (true, true) => "tls, --trusted-proxies none",
    };
    let mut cfg = config();
    cfg.mode = Mode::Broadcast;
    cfg.trusted_proxies = proxies;
    let server = start(cfg).await;
    let nginx = Nginx::start(
        &format!("crowd-{}", label.replace([',', ' ', '-'], "")),
        TUTORIAL_BLOCK,
        server.addr,
        tls,
    );
    let started = Instant::now();
    let mut crowd = join(&nginx, "/broadcast/stadium").await;
    let took = started.elapsed();
    let admitted = crowd.players.len();
    let sent = Instant::now();
    if let Some(first) = crowd.players.first_mut() {
        first.send(Message::text("kick-off")).await.unwrap();
    }
    let reached = delivered(std::mem::take(&mut crowd.players), "kick-off").await;
    println!(
        "nginx, the tutorial's block ({label}): {PLAYERS} players joining at 100/s for {:.1} s: \
         {admitted} in, refused by status {:?} (first: {}); the relayed message reached \
         {reached} of {admitted} within {} ms",
        took.as_secs_f64(),
        crowd.refused,
        crowd.first_refusal.as_deref().unwrap_or("none"),
        sent.elapsed().as_millis()
    );
    if admitted != PLAYERS {
        println!("nginx's error log: {}", nginx.errors());
    }
    drop(nginx);
    server.stop().await;
    Outcome {
        admitted,
        reached,
        refused: crowd.refused,
    }
}

async fn a_crowd_gets_in(tls: bool) {
    let crowd = crowd_through_the_tutorial_block(tls, ProxyNets::loopback()).await;
    assert_eq!(crowd.admitted, PLAYERS, "refused: {:?}", crowd.refused);
    assert_eq!(
        crowd.reached, PLAYERS,
        "the message must reach every player"
    );
}

#[tokio::test]
async fn a_crowd_gets_in_through_the_tutorial_block() {
    a_crowd_gets_in(false).await;
}

#[tokio::test]
async fn a_crowd_gets_in_through_the_tutorial_block_with_tls() {
    a_crowd_gets_in(true).await;
}

/// The old default, kept as a flag: nginx's address is one client, and the crowd is refused.
#[tokio::test]
async fn without_a_trusted_proxy_the_crowd_is_one_address_and_mostly_refused() {
    let crowd = crowd_through_the_tutorial_block(false, ProxyNets::none()).await;
    assert!(
        crowd.admitted <= 256,
        "one address holds at most 256 connections: {} got in",
        crowd.admitted
    );
    let refused: usize = crowd.refused.values().sum();
    assert!(refused >= PLAYERS - 256, "{:?}", crowd.refused);
    assert!(
        crowd.refused.contains_key(&429),
        "refused with 429: {:?}",
        crowd.refused
    );
    assert_eq!(crowd.reached, crowd.admitted, "those in are served");
}
