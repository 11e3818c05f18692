//! Issue 27, findings 1 and 2: a plain client must not be able to pass a relayed frame off
//! as the server's, in text (duplicate `type` keys, escaped key names) or in binary
//! (replayed keyframes, junk), and none of it may cost an honest binary client its
//! baseline or its snapshot rate.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballroom::protocol::binary::{self, Params, QuantizedSnapshot};
use ballroom::protocol::{COMMAND_TYPES, SERVER_TYPES};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Client, Server, config, eventually, start};

const QUIET: Duration = Duration::from_millis(400);

/// What an honest `ballroom.v2` client saw while it walked in circles.
#[derive(Debug, Default)]
struct Honest {
    /// Arrival times of the snapshots that decoded.
    snapshots: Vec<Instant>,
    /// Server frames (not marked relayed) that failed to decode.
    decode_failures: usize,
    /// Frames marked relayed, their payloads.
    relayed: Vec<Vec<u8>>,
    /// Snapshot frames byte-identical to a frame a plain client sent.
    spoofed: usize,
    /// Whether the connection ended before it was told to stop.
    closed: bool,
}

impl Honest {
    fn rate_between(&self, from: Instant, to: Instant) -> f64 {
        let n = self
            .snapshots
            .iter()
            .filter(|t| **t >= from && **t < to)
            .count();
        n as f64 / (to - from).as_secs_f64()
    }
}

/// A binary frame as a `ballroom.v2` client reads it: a server snapshot, or a relayed
/// frame's payload.
fn split(bytes: &[u8]) -> Result<(bool, &[u8]), ()> {
    match binary::frame::read(bytes) {
        Ok(binary::frame::Frame::Snapshot(s)) => Ok((false, s)),
        Ok(binary::frame::Frame::Relayed(r)) => Ok((true, r)),
        Err(_) => Err(()),
    }
}

/// An honest binary client: sends a slowly moving pose every 50 ms (so the room keeps its
/// moving snapshot rate) and decodes every snapshot against its baseline, until `stop`.
/// `sent` holds frames the attacker sent, to recognise them. What it saw so far is in
/// `seen`, for the test to wait on.
async fn honest(
    mut c: Client,
    params: Params,
    sent: Vec<Vec<u8>>,
    stop: oneshot::Receiver<()>,
    seen: Arc<Mutex<Honest>>,
) -> Honest {
    let finish = |closed: bool| {
        let mut out = std::mem::take(&mut *seen.lock().unwrap());
        out.closed = closed;
        out
    };
    let mut baseline: Option<QuantizedSnapshot> = None;
    let mut walk = tokio::time::interval(Duration::from_millis(50));
    let mut step = 0u32;
    tokio::pin!(stop);
    loop {
        let msg = tokio::select! {
            _ = &mut stop => return finish(false),
            _ = walk.tick() => {
                step += 1;
                let a = f64::from(step) * 0.02;
                let pose = json!({"type":"player","position":[8.0 + a.cos(), 0.0, 8.0 + a.sin()]});
                if c.ws.send(Message::text(pose.to_string())).await.is_err() {
                    return finish(true);
                }
                continue;
            }
            msg = c.ws.next() => msg,
        };
        let bytes = match msg {
            Some(Ok(Message::Binary(b))) => b,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return finish(true),
            Some(Ok(_)) => continue,
        };
        let mut out = seen.lock().unwrap();
        if sent.iter().any(|s| s[..] == bytes[..]) {
            out.spoofed += 1;
        }
        match split(&bytes) {
            Ok((true, payload)) => out.relayed.push(payload.to_vec()),
            Ok((false, snapshot)) => match binary::decode(&params, baseline.as_ref(), snapshot) {
                Ok(s) => {
                    out.snapshots.push(Instant::now());
                    baseline = Some(s);
                }
                Err(_) => out.decode_failures += 1,
            },
            Err(()) => out.decode_failures += 1,
        }
    }
}

/// Start an honest client (`honest`) on a task: what it has seen so far, the task, and the
/// sender that stops it.
fn spawn_honest(
    c: Client,
    params: Params,
    sent: Vec<Vec<u8>>,
) -> (Arc<Mutex<Honest>>, JoinHandle<Honest>, oneshot::Sender<()>) {
    let (stop, stopped) = oneshot::channel();
    let seen = Arc::new(Mutex::new(Honest::default()));
    let reader = tokio::spawn(honest(c, params, sent, stopped, seen.clone()));
    (seen, reader, stop)
}

/// Once the honest client has decoded 10 snapshots (it has its baseline and the room
/// sends at its moving rate), 2 s calm: their start and end.
async fn calm_window(seen: &Mutex<Honest>) -> (Instant, Instant) {
    eventually("the honest client decoding 10 snapshots", || {
        std::future::ready((seen.lock().unwrap().snapshots.len() >= 10).then_some(()))
    })
    .await;
    let calm_from = Instant::now();
    // Stays a sleep: the calm snapshot rate is measured over this window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    (calm_from, Instant::now())
}

async fn v2(server: &Server, path: &str) -> (Client, Params) {
    let mut c = server.connect(path, Some("ballroom.v2")).await;
    let welcome = c.recv_type("welcome").await;
    let params = serde_json::from_value(welcome["binary"].clone()).expect("params");
    (c, params)
}

/// The spellings of a server message a plain client tries to relay: a harmless `type`
/// first and the server's last (what `JSON.parse` and Python's `json` keep), and the key
/// written with an escape; and the error code each must get (`kick` and `player` are
/// commands too: spelled once, escaped or not, they are malformed commands).
fn spoofs() -> Vec<(String, String, &'static str)> {
    let mut out = Vec::new();
    for ty in SERVER_TYPES {
        out.push((
            format!("duplicate {ty}"),
            format!(r#"{{"type":"x","type":"{ty}","score":{{"blue":0,"red":9}}}}"#),
            "reserved_type",
        ));
        let single = if COMMAND_TYPES.contains(ty) {
            "bad_command"
        } else {
            "reserved_type"
        };
        out.push((
            format!("escaped {ty}"),
            format!(r#"{{"\u0074ype":"{ty}","score":{{"blue":0,"red":9}}}}"#),
            single,
        ));
        out.push((
            format!("escaped duplicate {ty}"),
            format!(r#"{{"type":1,"typ\u0065":"{ty}","tick":1}}"#),
            "reserved_type",
        ));
    }
    out
}

#[tokio::test]
async fn duplicate_and_escaped_type_keys_are_refused_and_never_relayed() {
    let server = start(config()).await;
    let path = "/spoof?scene=football";
    let (honest_client, params) = v2(&server, path).await;
    let (so_far, reader, stop) = spawn_honest(honest_client, params, Vec::new());
    let mut attacker = server.plain(path).await;
    let mut plain = server.plain(path).await;
    let (mut viewer, _) = server.protocol(path).await;
    let (calm_from, attack_from) = calm_window(&so_far).await;

    let mut relayed = Vec::new();
    let mut refused = Vec::new();
    for (name, text, want) in spoofs() {
        attacker.send_text(&text).await;
        // The attacker's own echo (or error) tells whether it was relayed.
        let mut answer = None;
        for m in attacker.collect(Duration::from_millis(150)).await {
            if let Message::Text(t) = m {
                if t.as_str() == text {
                    relayed.push(name.clone());
                } else if let Ok(v) = serde_json::from_str::<Value>(&t) {
                    if v["type"] == "error" {
                        answer = Some(v["code"].as_str().unwrap_or_default().to_owned());
                    }
                }
            }
        }
        if answer.as_deref() == Some(want) {
            refused.push(name);
        }
    }
    let attack_to = Instant::now();
    // Nobody else got any of it.
    let spoofs_texts: Vec<String> = spoofs().into_iter().map(|(_, t, _)| t).collect();
    let seen = |msgs: Vec<Message>| {
        msgs.iter()
            .filter(
                |m| matches!(m, Message::Text(t) if spoofs_texts.iter().any(|s| s == t.as_str())),
            )
            .count()
    };
    let to_plain = seen(plain.collect(QUIET).await);
    let to_viewer = seen(viewer.collect(QUIET).await);
    stop.send(()).unwrap();
    let h = reader.await.unwrap();
    let total = spoofs().len();
    println!(
        "spoofs: {total}; relayed back to the attacker: {}; refused with the expected code: {}; \
         reached the plain client: {to_plain}; reached the JSON viewer: {to_viewer}",
        relayed.len(),
        refused.len()
    );
    let (calm, under_attack) = (
        h.rate_between(calm_from, attack_from),
        h.rate_between(attack_from, attack_to),
    );
    println!(
        "honest v2 client: {calm:.1} snapshots/s calm, {under_attack:.1}/s under attack, {} decode failures",
        h.decode_failures
    );
    assert!(relayed.is_empty(), "relayed: {relayed:?}");
    assert_eq!((to_plain, to_viewer), (0, 0));
    assert_eq!(refused.len(), total, "refused: {refused:?}");
    assert!(calm >= 15.0, "calm rate {calm}");
    assert!(
        under_attack >= 0.8 * calm,
        "rate under attack {under_attack}, calm {calm}"
    );
    assert_eq!(h.decode_failures, 0);
    assert!(!h.closed);
    server.stop().await;
}

#[tokio::test]
async fn replayed_keyframes_and_junk_reach_v2_clients_as_relayed_frames_only() {
    let server = start(config()).await;
    let path = "/replay?scene=kickballs";
    // The attacker records a real keyframe with a v2 connection of its own.
    let (mut recorder, _) = v2(&server, path).await;
    let keyframe = loop {
        if let Message::Binary(b) = recorder.next().await {
            break b.to_vec();
        }
    };
    drop(recorder);
    // Later ticks: the honest client's own keyframe cannot be the recorded one.
    let recorded_tick = binary::header(&keyframe).expect("a snapshot header").tick;
    let s = &server;
    eventually(
        "the room ticking past the recorded keyframe",
        || async move {
            let rooms: Value = serde_json::from_str(&s.get("/rooms").await.1).unwrap();
            let tick = rooms[0]["tick"].as_u64().unwrap_or(0);
            (tick > recorded_tick).then_some(())
        },
    )
    .await;
    let junk: Vec<Vec<u8>> = vec![
        vec![0x11, 0x05, 0x01, 0xff, 0x00],
        vec![0x13, 0x80],
        vec![0x00, 0x01, 0x02],
        vec![0xff; 32],
        vec![0x15, 0x7f, 0x3c, 0x00, 0x00, 0x00],
    ];
    let mut sent = junk.clone();
    sent.push(keyframe.clone());

    let (honest_client, params) = v2(&server, path).await;
    let (so_far, reader, stop) = spawn_honest(honest_client, params, sent.clone());
    let mut attacker = server.plain(path).await;
    let (calm_from, attack_from) = calm_window(&so_far).await;
    // 12 s of a replayed keyframe or junk, three times a second (the issue's attack).
    for i in 0..36 {
        attacker
            .send(Message::binary(sent[i % sent.len()].clone()))
            .await;
        // The plain attacker gets its own frames back verbatim.
        let echo = attacker.collect(Duration::from_millis(333)).await;
        assert!(
            echo.iter()
                .any(|m| matches!(m, Message::Binary(b) if b[..] == sent[i % sent.len()][..])),
            "plain clients get relayed binary verbatim"
        );
    }
    let attack_to = Instant::now();
    // Every frame sent has reached the honest client (as relayed, if the server is right).
    eventually("the honest client getting the 36 frames sent", || {
        let h = so_far.lock().unwrap();
        let arrived = h.relayed.len() + h.spoofed + h.decode_failures;
        std::future::ready((arrived >= 36).then_some(()))
    })
    .await;
    stop.send(()).unwrap();
    let h = reader.await.unwrap();
    let (calm, under_attack) = (
        h.rate_between(calm_from, attack_from),
        h.rate_between(attack_from, attack_to),
    );
    let relayed_as_sent = h.relayed.iter().filter(|r| sent.contains(r)).count();
    println!(
        "frames sent: 36; taken for snapshots (byte-identical): {}; server frames that failed to decode: {}; \
         marked relayed with the sent payload: {relayed_as_sent}; connection lost: {}; \
         snapshots/s calm {calm:.1}, under attack {under_attack:.1}",
        h.spoofed, h.decode_failures, h.closed
    );
    assert_eq!(h.spoofed, 0, "a relayed frame arrived as a snapshot frame");
    assert_eq!(h.decode_failures, 0);
    assert_eq!(relayed_as_sent, 36);
    assert!(!h.closed);
    assert!(calm >= 15.0, "calm rate {calm}");
    assert!(
        under_attack >= 0.8 * calm,
        "rate under attack {under_attack}, calm {calm}"
    );
    server.stop().await;
}
