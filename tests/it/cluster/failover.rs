//! A room outlives its owner: SIGKILL (balls and score kept, within the lease time) and
//! SIGTERM (handed over within a few ticks).

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::{Cluster, LEASE_TTL, Peer, assert_one_history, largest_gap, serial, tick_of};
use super::{TAKEOVER, all_asleep, assert_same_positions, kick_and_settle, saved_twice_more};
use crate::support::{WAIT, scene_assets};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owners_room_comes_back_on_another_node_with_its_balls() {
    let _serial = serial().await;
    let mut cluster = Cluster::start(&[]);
    let room = "/keep";
    let mut peers = Vec::new();
    for id in ["a", "b", "c"] {
        peers.push((id, cluster.node(id).protocol(room).await.0));
    }
    let owner = cluster.agreed_owner(room, &[], WAIT).await;
    println!("{room} is owned by node {owner}");
    let (_, mut dead) = {
        let i = peers.iter().position(|(id, _)| *id == owner).unwrap();
        peers.remove(i)
    };
    let settled = kick_and_settle(&mut peers[0].1).await;
    // Let the store catch up with the resting world, as it would in any real room.
    saved_twice_more(cluster.node(&owner)).await;
    for (_, p) in &mut peers {
        p.take_arrived();
    }
    let before: Vec<u64> = peers.iter().map(|(_, p)| p.last_tick().unwrap()).collect();

    let killed = Instant::now();
    cluster.node_mut(&owner).kill();
    // A client arriving while the room has no owner is let in once it has one again.
    let survivor = cluster.running().next().unwrap();
    let mut newcomer = survivor.peer(room, Some("ballroom.v1")).await;
    for ((id, p), before) in peers.iter_mut().zip(&before) {
        let tick = *before;
        let s = p
            .try_until(TAKEOVER + Duration::from_secs(3), |s| {
                s.snapshot().is_some_and(|v| tick_of(v) > tick)
            })
            .await;
        let gap = s.as_ref().map(|s| s.at - killed);
        println!(
            "node {id}: first snapshot after tick {tick} came {gap:?} after the kill \
             (lease {LEASE_TTL:?}, allowed {TAKEOVER:?})"
        );
        let s = s.unwrap_or_else(|| {
            panic!(
                "{}: no snapshot after the owner's death: {}",
                p.name,
                p.tail(8)
            )
        });
        assert!(
            gap.unwrap() <= TAKEOVER,
            "{}: the room was gone for {gap:?}",
            p.name
        );
        let after = s.snapshot().unwrap();
        assert_same_positions(&settled, after, 1e-3);
        assert!(all_asleep(after), "{after}");
        if let Some(w) = p
            .seen
            .iter()
            .filter(|s| s.at >= killed)
            .find_map(|s| s.json().filter(|v| v["type"] == "welcome"))
        {
            println!(
                "node {id}: welcome after the takeover: resumed={}",
                w["resumed"]
            );
            assert_eq!(w["resumed"], true, "{w}");
        }
        assert!(!p.ended(), "{}: connection ended: {}", p.name, p.tail(4));
    }
    let welcome = newcomer
        .until(TAKEOVER + Duration::from_secs(2), |s| {
            s.json().is_some_and(|v| v["type"] == "welcome")
        })
        .await;
    println!(
        "a client of node {} that arrived during the failover was welcomed {:?} after the kill",
        survivor.id,
        welcome.at - killed
    );
    let first = newcomer.json_until(WAIT, |v| v["type"] == "snapshot").await;
    assert_same_positions(&settled, &first, 1e-3);
    // The killed node's own client lost its connection.
    dead.collect(Duration::from_millis(100)).await;
    assert!(dead.ended(), "{}", dead.tail(4));
    let new_owner = cluster.agreed_owner(room, &[], WAIT).await;
    assert_ne!(new_owner, owner);
    println!("{room} is now owned by node {new_owner}");
    for (_, p) in &mut peers {
        p.collect(Duration::from_millis(200)).await;
    }
    let compared = assert_one_history(&[&peers[0].1, &peers[1].1]);
    println!("{compared} snapshots compared across the takeover");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owners_match_keeps_its_score() {
    let _serial = serial().await;
    let assets = scene_assets("football", "quickball", |s| {
        s["rules_options"]["countdown"] = json!(1);
        s["rules_options"]["goalPause"] = json!(1);
    });
    let mut cluster = Cluster::start(&["--assets", assets.to_str().unwrap()]);
    let room = "/cup";
    let (mut blue, _) = cluster.node("a").protocol("/cup?scene=quickball").await;
    let (mut red, _) = cluster.node("b").protocol(room).await;
    let (mut watcher, _) = cluster.node("c").protocol("/cup?spectate=1").await;
    for (p, team) in [(&mut blue, "blue"), (&mut red, "red")] {
        p.send_json(json!({"type":"join_team","team":team})).await;
    }
    watcher
        .json_until(Duration::from_secs(10), |m| {
            m["type"] == "rules_state" && m["state"]["phase"] == "playing"
        })
        .await;
    red.send_json(json!({"type":"player","position":[0.9,0,0]}))
        .await;
    red.send_json(json!({"type":"kick","ball":0,"impulse":[-25,0,0]}))
        .await;
    let goal = watcher
        .json_until(Duration::from_secs(10), |m| {
            m["type"] == "message" && m["name"] == "goal"
        })
        .await;
    let score = json!({"blue":0,"red":1});
    assert_eq!(goal["data"]["score"], score);
    watcher
        .json_until(Duration::from_secs(10), |m| {
            m["type"] == "rules_state" && m["state"]["kickoff"] == "blue"
        })
        .await;
    let owner = cluster.agreed_owner(room, &[], WAIT).await;
    println!("{room} is owned by node {owner}");
    let mut survivors: Vec<(&str, Peer)> = [("a", blue), ("b", red), ("c", watcher)]
        .into_iter()
        .filter(|(id, _)| *id != owner)
        .collect();
    for (_, p) in &mut survivors {
        p.take_arrived();
    }
    let killed = Instant::now();
    cluster.node_mut(&owner).kill();
    for (id, p) in &mut survivors {
        let tick = p.last_tick().unwrap_or(0);
        let s = p
            .until(TAKEOVER + Duration::from_secs(3), |s| {
                s.snapshot().is_some_and(|v| tick_of(v) > tick)
            })
            .await;
        println!(
            "node {id}: match room back {:?} after the kill",
            s.at - killed
        );
        assert!(s.at - killed <= TAKEOVER, "{}", p.name);
        // The score is where it was, in the match state that follows the takeover.
        p.collect(Duration::from_millis(300)).await;
        let state = p
            .seen
            .iter()
            .filter(|s| s.at >= killed)
            .filter_map(|s| s.json())
            .find_map(|v| match v["type"].as_str() {
                Some("rules_state") => Some(v["state"].clone()),
                Some("welcome") => Some(v["rules_state"].clone()),
                _ => None,
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: no match state after the takeover: {}",
                    p.name,
                    p.tail(8)
                )
            });
        println!("node {id}: {state}");
        assert_eq!(state["score"], score, "{state}");
    }
    let _ = std::fs::remove_dir_all(&assets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_owner_hands_its_room_over_within_a_few_ticks() {
    let _serial = serial().await;
    let mut cluster = Cluster::start(&[]);
    let room = "/handover";
    let mut peers = Vec::new();
    for id in ["a", "b", "c"] {
        peers.push((id, cluster.node(id).protocol(room).await.0));
    }
    let owner = cluster.agreed_owner(room, &[], WAIT).await;
    println!("{room} is owned by node {owner}");
    let (_, mut leaving) = {
        let i = peers.iter().position(|(id, _)| *id == owner).unwrap();
        peers.remove(i)
    };
    // A fast ball keeps the snapshots at 20 a second through the handover.
    peers[0]
        .1
        .send_json(json!({"type":"kick","ball":1,"impulse":[0,0,40]}))
        .await;
    let kicked = peers[0].1.json_until(WAIT, |v| v["type"] == "kick").await;
    let kick_tick = tick_of(&kicked);
    for (_, p) in &mut peers {
        p.snapshot_after(kick_tick, WAIT).await;
    }
    for (_, p) in &mut peers {
        p.take_arrived();
    }
    let before: Vec<u64> = peers.iter().map(|(_, p)| p.last_tick().unwrap()).collect();
    let terminated = Instant::now();
    cluster.node(&owner).terminate();
    for (_, p) in &mut peers {
        p.collect(Duration::from_millis(1500)).await;
    }
    let status = cluster.node_mut(&owner).wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
    leaving.collect(Duration::from_millis(100)).await;
    println!(
        "the terminated owner's client got close {:?}",
        leaving.close_code()
    );
    assert!(
        leaving.close_code().is_some(),
        "no close frame: {}",
        leaving.tail(4)
    );
    for ((id, p), before) in peers.iter().zip(&before) {
        let after = p.last_tick().unwrap();
        assert!(after > before + 30, "{}: ticks {before} -> {after}", p.name);
        let ticks: Vec<u64> = p.snapshots().map(|(_, s)| tick_of(s)).collect();
        assert!(
            // A tick may come twice: the new owner's welcome to a member it took over
            // carries the current snapshot (the same world: `assert_one_history`).
            ticks.windows(2).all(|w| w[0] <= w[1]),
            "{}: the ticks went back at the handover: {ticks:?}",
            p.name
        );
        let (gap, t0, t1) = largest_gap(p, terminated);
        println!("node {id}: largest snapshot gap after SIGTERM {gap:?} (ticks {t0} -> {t1})");
        assert!(
            gap <= Duration::from_millis(500),
            "{}: {gap:?} without a snapshot (ticks {t0} -> {t1})",
            p.name
        );
        assert!(!p.ended(), "{}", p.tail(4));
    }
    let new_owner = cluster.agreed_owner(room, &[], WAIT).await;
    assert_ne!(new_owner, owner);
    assert_one_history(&[&peers[0].1, &peers[1].1]);
}
