//! A node cut off NATS: its room is taken over by another node, a kick its client sent
//! is refused or kept, `/healthz` says so; and the cutter that cuts it off.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::support::{
    Cluster, LEASE_TTL, NatsCutter, NatsServer, Node, Seen, assert_one_history, assert_one_world,
    serial, serial_blocking, tick_of,
};
use super::{TAKEOVER, assert_same_positions, common_ticks, kick_and_settle, saved_twice_more};
use crate::support::{WAIT, ball, eventually_within};

fn is_snapshot(s: &Seen) -> bool {
    s.snapshot().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_cut_off_nats_stops_and_another_node_takes_its_room_over() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let room = "/island";
    let mut peers = Vec::new();
    let mut tokens = Vec::new();
    for id in ["a", "b", "c"] {
        let (p, w) = cluster.node(id).protocol(room).await;
        tokens.push((id, w["resume"].as_str().unwrap().to_owned()));
        peers.push((id, p));
    }
    let owner = cluster.agreed_owner(room, &[], WAIT).await;
    println!("{room} is owned by node {owner}");
    let (_, mut isolated) = {
        let i = peers.iter().position(|(id, _)| *id == owner).unwrap();
        peers.remove(i)
    };
    let token = tokens
        .iter()
        .find(|(id, _)| *id == owner)
        .unwrap()
        .1
        .clone();
    let settled = kick_and_settle(&mut peers[0].1).await;
    saved_twice_more(cluster.node(&owner)).await;
    for (_, p) in &mut peers {
        p.take_arrived();
    }
    isolated.take_arrived();
    let before: Vec<u64> = peers.iter().map(|(_, p)| p.last_tick().unwrap()).collect();

    let cut = Instant::now();
    cluster.node(&owner).cutter.cut();
    // The isolated node's client kicks: the room's history elsewhere must not have it.
    isolated
        .try_send(Message::text(
            json!({"type":"kick","ball":2,"impulse":[0,0,40],"seq":5}).to_string(),
        ))
        .await;
    // The others get the room back from another node.
    for ((id, p), before) in peers.iter_mut().zip(&before) {
        let tick = *before;
        let s = p
            .until(TAKEOVER + Duration::from_secs(3), |s| {
                s.snapshot().is_some_and(|v| tick_of(v) > tick)
            })
            .await;
        println!(
            "node {id}: first snapshot after tick {tick} came {:?} after the cut",
            s.at - cut
        );
        assert!(s.at - cut <= TAKEOVER, "{}", p.name);
        assert_same_positions(&settled, s.snapshot().unwrap(), 1e-3);
    }
    let new_owner = cluster.agreed_owner(room, &[&owner], WAIT).await;
    assert_ne!(new_owner, owner);
    println!("{room} is now owned by node {new_owner}");

    // The isolated owner stopped: its client was closed, or its snapshots stopped within
    // the lease time of the cut.
    isolated.collect(Duration::from_millis(500)).await;
    let after_cut: Vec<u64> = isolated
        .snapshots()
        .filter(|(at, _)| *at >= cut)
        .map(|(_, v)| tick_of(v))
        .collect();
    println!(
        "isolated node {owner}: {} snapshots after the cut (ticks {:?} to {:?})",
        after_cut.len(),
        after_cut.first(),
        after_cut.last()
    );
    let last_at = isolated
        .seen
        .iter()
        .filter(|s| is_snapshot(s))
        .map(|s| s.at)
        .max();
    println!(
        "isolated node {owner}: close {:?}, last snapshot {:?} after the cut",
        isolated.close_code(),
        last_at.map(|t| t.saturating_duration_since(cut))
    );
    if let Some(Some(code)) = isolated.close_code() {
        assert_eq!(code, 1012, "{}", isolated.tail(4));
    }
    if let Some(at) = last_at {
        assert!(
            at <= cut + LEASE_TTL,
            "the isolated owner kept sending snapshots {:?} after the cut",
            at - cut
        );
    }
    // One history: every tick any client saw, on any node, shows one world.
    for (_, p) in &mut peers {
        p.collect(Duration::from_millis(300)).await;
    }
    for (_, p) in &peers {
        for s in p.seen.iter().filter(|s| s.at >= cut) {
            if let Some(v) = s.json() {
                assert_ne!(v["type"], "kick", "{}: {v}", p.name);
                if v["type"] == "snapshot" {
                    assert_same_positions(&settled, v, 1e-3);
                }
            }
        }
    }
    // One history: every tick the clients of the other nodes saw, and the isolated node's
    // client before the cut, shows one world. (What the isolated owner showed its client
    // after the cut is `a_kick_acknowledged_by_an_isolated_owner_survives_the_takeover`.)
    let compared = assert_one_world(
        peers
            .iter()
            .flat_map(|(_, p)| p.snapshots().map(|(_, s)| (p.name.as_str(), s)))
            .chain(
                isolated
                    .snapshots()
                    .filter(|(at, _)| *at < cut)
                    .map(|(_, s)| (isolated.name.as_str(), s)),
            ),
    );
    println!("{compared} snapshots compared across the cut");
    let (status, health) = cluster.node(&owner).healthz().await;
    println!("isolated node {owner}: /healthz {status} {health}");
    assert_eq!(status, 503, "{health}");

    // Back on NATS, the node follows the room's new owner: every node lists it, and the
    // client it closed resumes through it and shares the others' world again.
    cluster.node(&owner).cutter.restore();
    poll_health(cluster.node(&owner), 200, Duration::from_secs(10)).await;
    assert_eq!(cluster.agreed_owner(room, &[], WAIT).await, new_owner);
    let (mut back, w) = cluster
        .node(&owner)
        .protocol(&format!("{room}?resume={token}"))
        .await;
    assert_eq!(w["resumed"], true, "{w}");
    peers[0]
        .1
        .send_json(json!({"type":"kick","ball":1,"impulse":[0,0,40]}))
        .await;
    let kick = back.json_until(WAIT, |v| v["type"] == "kick").await;
    back.collect(Duration::from_millis(500)).await;
    for (_, p) in &mut peers {
        p.take_arrived();
    }
    let common = common_ticks(&back, &peers[0].1);
    println!(
        "the resumed client shares {common} ticks with node {}'s",
        peers[0].0
    );
    assert!(common >= 5, "{kick}");
    assert_one_history(&[&peers[0].1, &peers[1].1, &back]);
}

/// A kick the room acknowledged stays in its history: a client of an owner cut off NATS,
/// resuming (as the close 1012 tells it to) on the node that took the room over, finds the
/// kick it was acknowledged there, or was never acknowledged it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_acknowledged_by_an_isolated_owner_survives_the_takeover() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    let room = "/promise";
    let mut peers = Vec::new();
    for id in ["a", "b", "c"] {
        let (p, w) = cluster.node(id).protocol(room).await;
        peers.push((id, p, w));
    }
    let owner = cluster.agreed_owner(room, &[], WAIT).await;
    let (_, mut isolated, welcome) = {
        let i = peers.iter().position(|(id, _, _)| *id == owner).unwrap();
        peers.remove(i)
    };
    let me = welcome["client"].as_u64().unwrap();
    let token = welcome["resume"].as_str().unwrap().to_owned();
    // The store has the room as it is before the cut.
    saved_twice_more(cluster.node(&owner)).await;
    for (_, p, _) in &mut peers {
        p.take_arrived();
    }
    let before = peers[0].1.last_tick().unwrap();
    cluster.node(&owner).cutter.cut();
    isolated
        .send_json(json!({"type":"kick","ball":2,"impulse":[0,0,40],"seq":5}))
        .await;
    // The owner knows at once that it lost NATS and freezes the room: the kick is refused
    // (`room_busy`), or, if it came in before the owner noticed, acknowledged and then
    // kept by the next owner (checked below).
    let answer = isolated
        .try_until(LEASE_TTL + Duration::from_secs(1), |s| {
            s.snapshot().is_some_and(|v| v["acks"][me.to_string()] == 5)
                || s.json()
                    .is_some_and(|v| v["type"] == "error" && v["seq"] == 5)
        })
        .await
        .expect("the isolated owner answers the kick: an ack or an error");
    let Some(acked) = answer.snapshot().map(|_| answer.clone()) else {
        let error = answer.json().unwrap();
        println!("isolated owner {owner}: kick seq 5 refused: {error}");
        assert_eq!(error["code"], "room_busy", "{error}");
        return;
    };
    println!(
        "isolated owner {owner}: kick seq 5 acknowledged at tick {}",
        tick_of(acked.snapshot().unwrap())
    );
    let acked_tick = tick_of(acked.snapshot().unwrap());
    // Another node takes the room over; the client resumes there.
    peers[0]
        .1
        .snapshot_after(before, TAKEOVER + Duration::from_secs(3))
        .await;
    let new_owner = cluster.agreed_owner(room, &[&owner], WAIT).await;
    assert_ne!(new_owner, owner);
    let (mut resumed, w) = cluster
        .node(&new_owner)
        .protocol(&format!("{room}?resume={token}"))
        .await;
    assert_eq!(
        (&w["resumed"], &w["client"]),
        (&json!(true), &json!(me)),
        "{w}"
    );
    let snap = resumed.json_until(WAIT, |v| v["type"] == "snapshot").await;
    println!(
        "resumed on {new_owner} at tick {} (the kick was acknowledged at tick {acked_tick}): \
         acks {} ball 2 {}",
        tick_of(&snap),
        snap["acks"],
        ball(&snap, 2)
    );
    assert_eq!(
        snap["acks"][me.to_string()],
        5,
        "the kick acknowledged at tick {acked_tick} was lost in the takeover: {snap}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_the_nats_connection() {
    let _serial = serial().await;
    let cluster = Cluster::start(&[]);
    for n in &cluster.nodes {
        let (status, body) = n.healthz().await;
        assert_eq!(status, 200, "{}: {body}", n.id);
        assert_eq!(body["nats"], "connected", "{}: {body}", n.id);
    }
    let b = cluster.node("b");
    b.cutter.cut();
    let cut = Instant::now();
    let (status, body) = poll_health(b, 503, WAIT).await;
    println!(
        "node b: /healthz {status} {body} {:?} after the cut",
        cut.elapsed()
    );
    assert_eq!(body["nats"], "disconnected", "{body}");
    for id in ["a", "c"] {
        let (status, body) = cluster.node(id).healthz().await;
        assert_eq!(
            (status, &body["nats"]),
            (200, &json!("connected")),
            "{id}: {body}"
        );
    }
    let proxied = b.cutter.proxied();
    b.cutter.restore();
    let restored = Instant::now();
    let (_, body) = poll_health(b, 200, Duration::from_secs(10)).await;
    println!(
        "node b: /healthz 200 again {:?} after the restore",
        restored.elapsed()
    );
    assert_eq!(body["nats"], "connected", "{body}");
    assert!(
        b.cutter.proxied() > proxied,
        "b reconnected through its proxy"
    );
}

/// Poll a node's `/healthz` until it answers `status`, for at most `wait`.
async fn poll_health(node: &Node, status: u16, wait: Duration) -> (u16, Value) {
    let what = format!("node {}: /healthz answering {status}", node.id);
    eventually_within(&what, wait, || async {
        let (got, body) = node.healthz().await;
        (got == status).then_some((got, body))
    })
    .await
}

/// The harness itself: the cutter proxies the NATS protocol, and a cut closes the proxied
/// connection and every new one until the restore.
#[test]
fn the_cutter_proxies_nats_and_cuts_it_off() {
    use std::io::{BufRead, BufReader, Write};
    let _serial = serial_blocking();
    let nats = NatsServer::start();
    let cutter = NatsCutter::start(nats.addr);
    let info = |stream: &std::net::TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut line = String::new();
        let n = BufReader::new(stream).read_line(&mut line).unwrap_or(0);
        (n, line)
    };
    let mut s = std::net::TcpStream::connect(cutter.addr).unwrap();
    let (_, line) = info(&s);
    assert!(line.starts_with("INFO {"), "{line:?}");
    s.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .unwrap();
    let (_, line) = info(&s);
    assert_eq!(line, "PONG\r\n");
    assert_eq!(cutter.proxied(), 1);

    cutter.cut();
    assert_eq!(info(&s).0, 0, "the proxied connection is closed at the cut");
    let again = std::net::TcpStream::connect(cutter.addr).unwrap();
    assert_eq!(info(&again).0, 0, "a new connection is closed while cut");
    cutter.restore();
    let back = std::net::TcpStream::connect(cutter.addr).unwrap();
    assert!(info(&back).1.starts_with("INFO {"));
    assert_eq!(cutter.proxied(), 2);
}
