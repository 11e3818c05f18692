//! Clients of three nodes share one room and one world; two nodes racing to open a room
//! end with one owner, and the join that loses the race is welcomed at once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use super::common_ticks;
use super::support::{Cluster, Peer, assert_one_history, serial, tick_of};
use crate::support::{WAIT, ball, eventually, vec3};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_three_nodes_share_one_room_and_see_the_same_snapshots() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let mut peers = Vec::new();
    let mut welcomes = Vec::new();
    for id in ["a", "b", "c"] {
        let (p, w) = cluster.node(id).protocol("/arena").await;
        assert_eq!(w["room"], "/arena", "{w}");
        assert_eq!(w["scene"]["name"], "kickballs", "{w}");
        peers.push(p);
        welcomes.push(w);
    }
    // Client ids are unique across the cluster (acks are keyed by them).
    let ids: BTreeSet<u64> = welcomes
        .iter()
        .map(|w| w["client"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "client ids collide across nodes: {ids:?}");
    assert!(
        ids.iter().all(|&id| id < 1 << 53),
        "client ids are exact in JavaScript: {ids:?}"
    );
    // The third client's welcome lists the other two, wherever they are connected.
    let listed: BTreeSet<u64> = welcomes[2]["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().or_else(|| c["id"].as_u64()).unwrap())
        .collect();
    assert!(listed.is_superset(&ids), "{ids:?} in {}", welcomes[2]);
    let owner = cluster.agreed_owner("/arena", &[], WAIT).await;
    println!("/arena is owned by node {owner}");

    // Keep the world moving (20 snapshots a second) and watch it from all three nodes.
    peers[0]
        .send_json(json!({"type":"kick","ball":0,"impulse":[30,20,0]}))
        .await;
    peers[0].collect(Duration::from_millis(1500)).await;
    for p in &mut peers[1..] {
        p.take_arrived();
    }
    for (x, y) in [(0, 1), (0, 2), (1, 2)] {
        let common = common_ticks(&peers[x], &peers[y]);
        assert!(
            common >= 10,
            "{} and {} saw only {common} ticks in common",
            peers[x].name,
            peers[y].name
        );
    }
    let compared = assert_one_history(&[&peers[0], &peers[1], &peers[2]]);
    println!("{compared} snapshots compared with another client's of the same tick");
    // Everyone's snapshot of the same tick is the same, acknowledgements and clock included.
    let last = peers[0].last_tick().unwrap();
    let of = |p: &Peer| {
        p.snapshots()
            .find(|(_, s)| tick_of(s) == last)
            .map(|(_, s)| s.clone())
    };
    if let (Some(x), Some(y), Some(z)) = (of(&peers[0]), of(&peers[1]), of(&peers[2])) {
        assert_eq!(x, y);
        assert_eq!(x, z);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_through_one_node_moves_the_ball_for_a_client_of_another() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let (mut a, _) = cluster.node("a").protocol("/pitch").await;
    let (mut b, wb) = cluster.node("b").protocol("/pitch").await;
    let (mut c, _) = cluster.node("c").protocol("/pitch").await;
    let kicker = wb["client"].as_u64().unwrap();
    let first = c.json_until(WAIT, |v| v["type"] == "snapshot").await;
    let start = vec3(&ball(&first, 1)["p"]);

    b.send_json(json!({"type":"kick","ball":1,"impulse":[0,0,40],"seq":1}))
        .await;
    let sent = Instant::now();
    let kick = b.json_until(WAIT, |v| v["type"] == "kick").await;
    assert_eq!(
        (&kick["client"], &kick["ball"], &kick["seq"]),
        (&json!(kicker), &json!(1), &json!(1)),
        "{kick}"
    );
    let kick_tick = tick_of(&kick);
    // The kicker's snapshot of the kick's tick acknowledges it and shows the velocity.
    let acked = b
        .json_until(WAIT, |v| v["type"] == "snapshot" && tick_of(v) >= kick_tick)
        .await;
    assert_eq!(tick_of(&acked), kick_tick, "{acked}");
    assert_eq!(acked["acks"][kicker.to_string()], 1, "{acked}");

    // A client of node c sees the kick event and the ball moving along +z.
    let seen = c
        .json_until(WAIT, |v| v["type"] == "kick" && v["client"] == kicker)
        .await;
    println!(
        "node c saw node b's kick {} ms after it was sent",
        sent.elapsed().as_millis()
    );
    assert_eq!(tick_of(&seen), kick_tick);
    let snap = c
        .json_until(WAIT, |v| v["type"] == "snapshot" && tick_of(v) >= kick_tick)
        .await;
    assert_eq!(tick_of(&snap), kick_tick, "{snap}");
    let v = vec3(&ball(&snap, 1)["v"]);
    assert!(
        v[2] > 7.0 && v[2] <= 8.0,
        "impulse/mass = 8 m/s along +z, got {v:?}"
    );
    assert_eq!(snap["acks"][kicker.to_string()], 1, "{snap}");
    let later = c.snapshot_after(kick_tick + 29, WAIT).await;
    let p = vec3(&ball(&later, 1)["p"]);
    assert!(p[2] - start[2] > 2.0, "{start:?} -> {p:?}");
    assert!((p[0] - start[0]).abs() < 0.2, "stayed on its line: {p:?}");

    a.collect(Duration::from_millis(200)).await;
    b.take_arrived();
    c.take_arrived();
    assert!(common_ticks(&a, &c) >= 5 && common_ticks(&b, &c) >= 5);
    assert_one_history(&[&a, &b, &c]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_racing_to_open_a_room_end_with_one_owner() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let (na, nb) = (cluster.node("a"), cluster.node("b"));
    let rooms: Vec<String> = (0..20).map(|i| format!("/race-{i}")).collect();
    let mut pairs = Vec::new();
    let mut slowest = (Duration::ZERO, String::new());
    let mut all_ms = Vec::new();
    for room in &rooms {
        let ((pa, _), (pb, _)) = tokio::join!(na.protocol(room), nb.protocol(room));
        // How long each took to be welcomed (the loser's join goes to the winner).
        for p in [&pa, &pb] {
            let took = p.seen.last().unwrap().at - p.connected;
            all_ms.push(took.as_millis());
            if took > slowest.0 {
                slowest = (took, p.name.clone());
            }
        }
        pairs.push((pa, pb));
    }
    all_ms.sort();
    println!(
        "slowest welcome in a race: {:?} ({}); all in ms: {all_ms:?}",
        slowest.0, slowest.1
    );
    let mut by_a = 0;
    for room in &rooms {
        let owner = cluster.agreed_owner(room, &[], WAIT).await;
        assert!(owner == "a" || owner == "b", "{room}: owner {owner}");
        by_a += usize::from(owner == "a");
    }
    println!(
        "{} racing rooms: {by_a} owned by a, {} by b",
        rooms.len(),
        rooms.len() - by_a
    );
    // One world per room: a kick through a is seen through b, in the same snapshots.
    for (pa, _) in &mut pairs {
        pa.send_json(json!({"type":"kick","ball":0,"impulse":[0,0,40]}))
            .await;
    }
    for (room, (pa, pb)) in rooms.iter().zip(&mut pairs) {
        let kick = pa.json_until(WAIT, |v| v["type"] == "kick").await;
        let seen = pb.json_until(WAIT, |v| v["type"] == "kick").await;
        assert_eq!(kick, seen, "{room}");
    }
    eventually(
        "every pair of clients has 5 snapshot ticks in common",
        || {
            let enough = pairs.iter_mut().all(|(pa, pb)| {
                pa.take_arrived();
                pb.take_arrived();
                common_ticks(pa, pb) >= 5
            });
            std::future::ready(enough.then_some(()))
        },
    )
    .await;
    for (room, (pa, pb)) in rooms.iter().zip(&mut pairs) {
        pa.take_arrived();
        pb.take_arrived();
        let common = common_ticks(pa, pb);
        assert!(common >= 5, "{room}: {common} ticks in common");
        assert_one_history(&[pa, pb]);
    }
}

/// A join that loses the race to open a room is sent on to the winner at once: it is
/// welcomed about as fast as one that did not race (a few milliseconds here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_that_loses_a_race_is_welcomed_without_waiting_for_a_retry() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let (na, nb) = (cluster.node("a"), cluster.node("b"));
    let mut slow = Vec::new();
    for i in 0..20 {
        let room = format!("/rush-{i}");
        let ((pa, _), (pb, _)) = tokio::join!(na.protocol(&room), nb.protocol(&room));
        // From the handshake's end to the welcome.
        for p in [&pa, &pb] {
            let took = p.seen.last().unwrap().at - p.connected;
            if took > Duration::from_millis(150) {
                slow.push((p.name.clone(), took));
            }
        }
    }
    assert!(slow.is_empty(), "welcomed after more than 150 ms: {slow:?}");
}
