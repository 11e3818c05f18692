//! Frames relayed across nodes exactly once: broadcast nodes, relay rooms and physics
//! rooms; a relay room is one room for joins through every node.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Message;

use super::support::{Cluster, Frame, Peer, serial};
use crate::support::{eventually, poll};

/// The text frames (non-JSON, or JSON without a server `type`) and binary frames `p` has
/// seen: what was relayed to it.
fn relayed(p: &Peer) -> Vec<Message> {
    p.seen
        .iter()
        .filter_map(|s| match &s.frame {
            Frame::Text(t, None) => Some(Message::text(t.clone())),
            Frame::Text(t, Some(v)) if !v["type"].is_string() => Some(Message::text(t.clone())),
            Frame::Binary(b) => Some(Message::binary(b.clone())),
            _ => None,
        })
        .collect()
}

/// Three frames through three nodes: text from `a`, binary from `b`, text from `c` (which
/// has echo off). Every client gets each frame exactly once, but `c` not its own; besides
/// them, `also` (clients that only listen) get all three once.
async fn relay_three_ways(a: &mut Peer, b: &mut Peer, c: &mut Peer, also: &mut [&mut Peer]) {
    let all = [
        Message::text(r#"{"cube": 3}"#),
        Message::binary(vec![0u8, 159, 146, 150, 255]),
        Message::text("from c, not echoed"),
    ];
    a.send(all[0].clone()).await;
    b.send(all[1].clone()).await;
    c.send(all[2].clone()).await;
    let count = |p: &Peer, m: &Message| relayed(p).iter().filter(|r| *r == m).count();
    let quiet = c.name.clone();
    let expected = |p: &Peer| -> &[Message] { if p.name == quiet { &all[..2] } else { &all } };
    let mut peers: Vec<&mut Peer> = [a, b, c]
        .into_iter()
        .chain(also.iter_mut().map(|p| &mut **p))
        .collect();
    // Every client's reader keeps reading meanwhile: one wait serves them all. Once each
    // has its frames, a sync round sent after them through the same nodes reaching every
    // client brings along any second copy that was on its way.
    eventually("every client has the frames relayed to it", || {
        let all_there = peers.iter_mut().all(|p| {
            p.take_arrived();
            expected(p).iter().all(|m| count(p, m) > 0)
        });
        std::future::ready(all_there.then_some(()))
    })
    .await;
    sync_everywhere(&mut peers).await;
    for p in peers {
        p.take_arrived();
        for m in &all {
            let want = usize::from(expected(p).contains(m));
            assert_eq!(
                count(p, m),
                want,
                "{} got {m:?} {} times: {:?}",
                p.name,
                count(p, m),
                relayed(p)
            );
        }
    }
}

/// Wait until every client's frames reach every other client (its join, and its node's
/// subscriptions, are done everywhere): each sends `sync NAME ROUND` until one round
/// reaches everyone (a client with `echo=false` in its name is not sent its own). The
/// frames seen so far are then forgotten.
async fn relay_barrier(peers: &mut [&mut Peer]) {
    sync_everywhere(peers).await;
    for p in peers.iter_mut() {
        p.take_arrived();
        p.seen.clear();
    }
}

/// Each client sends `sync NAME ROUND` until one round reaches every client; a round that
/// has not within 100 ms is followed by the next.
async fn sync_everywhere(peers: &mut [&mut Peer]) {
    static ROUNDS: AtomicU64 = AtomicU64::new(0);
    let started = Instant::now();
    let first = ROUNDS.fetch_add(25, Ordering::Relaxed);
    for round in first..first + 25 {
        for p in peers.iter_mut() {
            let text = format!("sync {} {round}", p.name);
            p.send_text(&text).await;
        }
        let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let everywhere = poll(Duration::from_millis(100), || {
            let reached = peers.iter_mut().all(|p| {
                p.take_arrived();
                names.iter().all(|from| {
                    (*from == p.name && p.name.contains("echo=false"))
                        || relayed(p).contains(&Message::text(format!("sync {from} {round}")))
                })
            });
            std::future::ready(reached.then_some(()))
        })
        .await;
        if everywhere.is_some() {
            if round > first {
                println!(
                    "{}: frames reached every client from sync round {}, {:?} after the first",
                    peers[0].name,
                    round - first,
                    started.elapsed()
                );
            }
            return;
        }
    }
    panic!(
        "frames never reached every client: {:?}",
        peers
            .iter()
            .map(|p| (&p.name, relayed(p)))
            .collect::<Vec<_>>()
    );
}

fn assert_no_server_messages(p: &Peer) {
    assert!(
        p.seen
            .iter()
            .all(|s| !matches!(s.json(), Some(v) if v["type"].is_string())),
        "{} got a server message: {}",
        p.name,
        p.tail(6)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_nodes_relay_frames_across_nodes_exactly_once() {
    let _serial = serial().await;
    let cluster = Cluster::start(&["--mode", "broadcast"]);
    let mut a = cluster.node("a").plain("/chat").await;
    let mut b = cluster.node("b").plain("/chat").await;
    let mut c = cluster.node("c").plain("/chat?echo=false").await;
    let mut a2 = cluster.node("a").plain("/chat").await;
    relay_barrier(&mut [&mut a, &mut b, &mut c, &mut a2]).await;
    relay_three_ways(&mut a, &mut b, &mut c, &mut [&mut a2]).await;
    for p in [&a, &b, &c, &a2] {
        assert_no_server_messages(p);
    }
    // A room without physics has no owner; each node lists its own clients of it.
    for n in &cluster.nodes {
        let entries = n.room_entries("/chat").await;
        assert_eq!(entries.len(), 1, "{}: {entries:?}", n.id);
        assert_eq!(entries[0]["scene"], "relay");
        assert_eq!(entries[0]["node"], n.id.as_str(), "{entries:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_rooms_and_physics_rooms_relay_across_nodes_exactly_once() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    // A relay room in a physics cluster: every client names the scene.
    let (mut a, welcome) = cluster.node("a").protocol("/chat?scene=relay").await;
    assert_eq!(welcome["scene"]["name"], "relay", "{welcome}");
    let (mut b, _) = cluster.node("b").protocol("/chat?scene=relay").await;
    let (mut c, _) = cluster
        .node("c")
        .protocol("/chat?scene=relay&echo=false")
        .await;
    relay_barrier(&mut [&mut a, &mut b, &mut c]).await;
    relay_three_ways(&mut a, &mut b, &mut c, &mut []).await;

    // A physics room: plain clients' frames are relayed across nodes through the owner,
    // and plain clients hear nothing of the server's own.
    let mut x = cluster.node("b").plain("/field").await;
    let mut y = cluster.node("c").plain("/field").await;
    let mut z = cluster.node("c").plain("/field?echo=false").await;
    // Binary clients on every node: relayed binary reaches them behind the relayed tag,
    // whichever path brings it (owner, follower).
    let mut v2s = Vec::new();
    for node in ["a", "b", "c"] {
        let (peer, w) = cluster.node(node).protocol("/field?encoding=binary").await;
        assert_eq!(w["encoding"], "binary", "{w}");
        v2s.push(peer);
    }
    {
        let mut all: Vec<&mut Peer> = vec![&mut x, &mut y, &mut z];
        all.extend(v2s.iter_mut());
        relay_barrier(&mut all).await;
    }
    relay_three_ways(&mut x, &mut y, &mut z, &mut []).await;
    for p in [&x, &y, &z] {
        assert_no_server_messages(p);
    }
    let payload = vec![0u8, 159, 146, 150, 255];
    let mut tagged = vec![ballroom::protocol::binary::frame::RELAYED];
    tagged.extend(&payload);
    for p in &mut v2s {
        p.take_arrived();
        let binary: Vec<&Vec<u8>> = p
            .seen
            .iter()
            .filter_map(|s| match &s.frame {
                Frame::Binary(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(
            binary.iter().filter(|b| ***b == tagged).count(),
            1,
            "{} did not get the relayed frame tagged once",
            p.name
        );
        assert!(
            !binary.iter().any(|b| **b == payload),
            "{} got it untagged",
            p.name
        );
    }
}

/// A relay room opened with `?scene=relay` through one node is the room of that name for
/// every node, as on a single server, where a later join without `?scene=` joins the room
/// that exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_room_is_one_room_for_joins_through_every_node() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let (mut opener, welcome) = cluster.node("a").protocol("/lounge?scene=relay").await;
    assert_eq!(welcome["scene"]["name"], "relay", "{welcome}");
    let (mut b, wb) = cluster.node("b").protocol("/lounge").await;
    assert_eq!(
        wb["scene"]["name"], "relay",
        "node b opened another room: {wb}"
    );
    let mut c = cluster.node("c").plain("/lounge?echo=false").await;
    relay_barrier(&mut [&mut opener, &mut b, &mut c]).await;
    relay_three_ways(&mut opener, &mut b, &mut c, &mut []).await;
}
