//! Binary snapshots (`ballroom.v2`) over real sockets, beside JSON clients in one room.

use std::collections::BTreeMap;
use std::time::Duration;

use ballroom::protocol::binary::{self, Params, QuantizedSnapshot};
use ballroom::room::Snapshot;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, Server, config, start};

async fn server() -> Server {
    let mut cfg = config();
    // Paused time races ahead while clients sit unpolled; no keepalive verdicts.
    cfg.ping_interval = Duration::from_secs(3600);
    cfg.idle_timeout = Duration::from_secs(7200);
    start(cfg).await
}

/// Read a binary client's frames until it has a snapshot of the tick `stop` names, or a
/// later one: every snapshot decoded against the baseline its header names, by tick.
/// Fails on any frame that does not decode.
async fn decode_all(
    mut c: Client,
    params: Params,
    stop: oneshot::Receiver<u64>,
) -> BTreeMap<u64, QuantizedSnapshot> {
    let mut decoded: BTreeMap<u64, QuantizedSnapshot> = BTreeMap::new();
    let mut until = None;
    tokio::pin!(stop);
    loop {
        if until.is_some_and(|t| decoded.keys().next_back().is_some_and(|last| *last >= t)) {
            return decoded;
        }
        let msg = tokio::select! {
            t = &mut stop, if until.is_none() => {
                until = Some(t.unwrap());
                continue;
            }
            msg = c.ws.next() => msg.expect("open").expect("readable"),
        };
        if let Message::Binary(bytes) = msg {
            let header = binary::header(&bytes).expect("a binary snapshot header");
            let baseline = header.baseline_tick.map(|t| &decoded[&t]);
            let snap = binary::decode(&params, baseline, &bytes).expect("decodes");
            assert_eq!(snap.tick, header.tick);
            decoded.insert(snap.tick, snap);
        }
    }
}

/// Read a JSON client's snapshots until it has one of the tick `stop` names, or a later
/// one, by tick.
async fn json_snapshots(mut c: Client, stop: oneshot::Receiver<u64>) -> BTreeMap<u64, Value> {
    let mut snaps = BTreeMap::new();
    let mut until = None;
    tokio::pin!(stop);
    loop {
        if until.is_some_and(|t| snaps.keys().next_back().is_some_and(|last| *last >= t)) {
            return snaps;
        }
        let msg = tokio::select! {
            t = &mut stop, if until.is_none() => {
                until = Some(t.unwrap());
                continue;
            }
            msg = c.ws.next() => msg.expect("open").expect("readable"),
        };
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "snapshot" {
                snaps.insert(v["tick"].as_u64().unwrap(), v);
            }
        }
    }
}

fn f(v: &Value, i: usize) -> f64 {
    v[i].as_f64().unwrap()
}

/// Every ball of `decoded` within the declared error bounds of the JSON snapshot.
fn assert_within_bounds(params: &Params, decoded: &Snapshot, json: &Value) {
    let bounds = &params.max_error;
    for (b, j) in decoded.balls.iter().zip(json["balls"].as_array().unwrap()) {
        assert_eq!(u64::from(b.id), j["id"].as_u64().unwrap());
        // The bounds are on the lengths of the error vectors.
        let off = |v: [f32; 3], key: &str| {
            (0..3)
                .map(|i| (f64::from(v[i]) - f(&j[key], i)).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let d = off(b.position, "p");
        assert!(
            d <= bounds.position + 1e-6,
            "position off by {d} m: {b:?} vs {j}"
        );
        let d = off(b.linvel, "v");
        assert!(d <= bounds.linvel + 1e-5, "linvel off by {d}: {b:?} vs {j}");
        let d = off(b.angvel, "w");
        assert!(d <= bounds.angvel + 1e-5, "angvel off by {d}: {b:?} vs {j}");
        let dot: f64 = (0..4)
            .map(|i| f64::from(b.rotation[i]) * f(&j["q"], i))
            .sum::<f64>()
            .abs()
            .min(1.0);
        let degrees = 2.0 * dot.acos().to_degrees();
        assert!(
            degrees <= bounds.rotation_degrees + 1e-3,
            "rotation off by {degrees}°: {b:?} vs {j}"
        );
        assert_eq!(b.sleeping, j["sleeping"].as_bool().unwrap());
    }
    let acks: BTreeMap<String, u64> = decoded
        .acks
        .iter()
        .map(|(c, s)| (c.to_string(), *s))
        .collect();
    assert_eq!(json!(acks), json["acks"]);
}

#[tokio::test(start_paused = true)]
async fn binary_and_json_clients_see_the_same_room_and_deltas_stay_exact_for_minutes() {
    let server = server().await;
    // A JSON client that kicks, and a binary client that only watches; no subprotocol:
    // `?encoding=binary` alone asks for binary snapshots.
    let mut kicker = server.connect("/pair?scene=kickballs", None).await;
    let me = kicker.recv_type("welcome").await["client"].clone();
    let mut watcher = server.connect("/pair?encoding=binary", None).await;
    let welcome = watcher.recv_type("welcome").await;
    assert_eq!(welcome["encoding"], "binary");
    let params: Params = serde_json::from_value(welcome["binary"].clone()).expect("params");
    assert!(params.max_error.position <= 0.001 && params.max_error.rotation_degrees <= 0.1);
    assert!(params.max_error.linvel <= 0.01 && params.max_error.angvel <= 0.01);

    let mut viewer = server.connect("/pair?protocol=json", None).await;
    viewer.recv_type("welcome").await;
    let (stop_binary, stopped_binary) = oneshot::channel();
    let (stop_json, stopped_json) = oneshot::channel();
    let binary_reader = tokio::spawn(decode_all(watcher, params.clone(), stopped_binary));
    let json_reader = tokio::spawn(json_snapshots(viewer, stopped_json));

    // Two minutes of play: a kick every 2 s, each ball in turn, in changing directions.
    let mut last_tick = 0;
    for n in 0..60u64 {
        let dir = if n % 2 == 0 { 1.0 } else { -1.0 };
        let kick = json!({"type":"kick","ball":n % 3,"impulse":[40.0 * dir, 5.0, 25.0],"seq":n});
        kicker.send_json(kick).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Some(m) = kicker
            .try_next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap_or_default();
                if let Some(tick) = v["tick"].as_u64().filter(|_| v["type"] == "snapshot") {
                    last_tick = last_tick.max(tick);
                }
            }
        }
    }
    // Both readers stop once they have the last snapshot the kicker got (or a later one).
    stop_binary.send(last_tick).unwrap();
    stop_json.send(last_tick).unwrap();
    let decoded = binary_reader.await.unwrap();
    let json = json_reader.await.unwrap();

    let common: Vec<u64> = decoded
        .keys()
        .filter(|t| json.contains_key(t))
        .copied()
        .collect();
    assert!(common.len() > 1000, "{} common snapshots", common.len());
    for tick in &common {
        assert_within_bounds(&params, &decoded[tick].to_snapshot(&params), &json[tick]);
    }
    let last = decoded.values().last().unwrap();
    assert!(last.tick >= 60 * 118, "two minutes of ticks: {}", last.tick);
    assert_eq!(last.acks.get(&me.as_u64().unwrap()), Some(&59));
}

#[tokio::test]
async fn the_v2_subprotocol_is_selected_and_the_first_snapshot_is_a_keyframe() {
    let server = server().await;
    // The server selects the offered `ballroom.v2` (`connect` checks its answer).
    let mut c = server
        .connect("/v2?scene=kickballs", Some("ballroom.v2"))
        .await;
    let welcome = c.recv_type("welcome").await;
    assert_eq!(welcome["encoding"], "binary");
    let params: Params = serde_json::from_value(welcome["binary"].clone()).unwrap();
    let ids: Vec<u32> = params.balls.iter().map(|b| b.id).collect();
    assert_eq!(ids, [0, 1, 2]);
    let first = loop {
        match c.next().await {
            Message::Binary(b) => break b,
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                assert_ne!(
                    v["type"], "snapshot",
                    "binary clients get no JSON snapshots"
                );
            }
            other => panic!("{other:?}"),
        }
    };
    let header = binary::header(&first).unwrap();
    assert_eq!(
        header.baseline_tick, None,
        "a joining client gets a keyframe"
    );
    let snap = binary::decode(&params, None, &first).unwrap();
    assert_eq!(snap.balls.len(), 3);
    // JSON clients keep text snapshots.
    let (mut v1, welcome) = server.protocol("/v2").await;
    assert_eq!(welcome["encoding"], "json");
    assert!(welcome.get("binary").is_none());
    v1.recv_type("snapshot").await;
}
