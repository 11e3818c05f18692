//! The recommended block (`proxy_set_header X-Real-IP $remote_addr;`) with no flag on
//! ballroom: a loopback proxy's `X-Real-IP` is believed by default, so players reaching nginx
//! from many (loopback) addresses are each limited by their own, and one address flooding
//! handshakes is refused while every other player gets in and is served. `/metrics` names the
//! limited address and says it came through a proxy.

use std::net::{IpAddr, Ipv4Addr};

use ballroom::config::Mode;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::proxy::{Nginx, RECOMMENDED_BLOCK};
use crate::support::{WAIT, config, sample, start};

const ADDRESSES: u8 = 20;
const PER_ADDRESS: usize = 10;
const BURST: u32 = 20;
const FLOOD: usize = 3 * BURST as usize;

fn player_address(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, 10 + i))
}

#[tokio::test]
async fn each_player_is_limited_by_its_own_address_behind_the_recommended_block() {
    let mut cfg = config();
    cfg.mode = Mode::Broadcast;
    // A bucket small enough that the flood below outruns it whatever the machine's speed.
    cfg.handshake_burst = BURST;
    cfg.handshakes_per_ip = 1.0;
    let server = start(cfg).await;
    let nginx = Nginx::start("per-client", RECOMMENDED_BLOCK, server.addr, false);
    let entry = nginx.entry();

    let flooder = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 99));
    let (mut flood_in, mut flood_refused) = (0, Vec::new());
    for _ in 0..FLOOD {
        match entry.connect(flooder, "/broadcast/arena", None).await {
            Ok(mut ws) => {
                flood_in += 1;
                let _ = ws.close(None).await;
            }
            Err(r) => flood_refused.push(r),
        }
    }

    let mut players = Vec::new();
    for a in 0..ADDRESSES {
        for _ in 0..PER_ADDRESS {
            let ws = entry
                .connect(player_address(a), "/broadcast/arena", None)
                .await
                .unwrap_or_else(|r| panic!("{} was refused: {r:?}", player_address(a)));
            players.push(ws);
        }
    }
    players[0].send(Message::text("served")).await.unwrap();
    let mut reached = 0;
    for ws in &mut players {
        let got = tokio::time::timeout(WAIT, async {
            while let Some(Ok(m)) = ws.next().await {
                if m == Message::text("served") {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        reached += usize::from(got);
    }
    let (_, metrics) = server.get("/metrics").await;
    println!(
        "nginx, the recommended block: the flooding address made {FLOOD} handshakes: {flood_in} in, \
         {} refused (first: {:?}); {} players from {ADDRESSES} other addresses all in, and the \
         message reached {reached}",
        flood_refused.len(),
        flood_refused.first(),
        players.len()
    );
    assert!(
        flood_in <= BURST as usize + 2,
        "the flood outran its own bucket: {flood_in} in"
    );
    assert!(!flood_refused.is_empty());
    for r in &flood_refused {
        assert_eq!(r.status, 429, "{r:?}");
        assert!(r.body.contains("per_ip_handshake_rate"), "{r:?}");
    }
    assert_eq!(reached, players.len());
    // `/metrics` says which address was limited, and that a proxy named it.
    let limited = sample(
        &metrics,
        "ballroom_limited_address",
        r#"address="127.0.1.99",via="proxy",reason="per_ip_handshake_rate""#,
    );
    assert_eq!(limited, Some(flood_refused.len() as f64), "{metrics}");
    assert!(
        sample(
            &metrics,
            "ballroom_rejected_total",
            r#"reason="per_ip_handshake_rate",via="proxy""#
        )
        .is_some_and(|n| n >= flood_refused.len() as f64),
        "{metrics}"
    );
    drop(nginx);
    server.stop().await;
}
