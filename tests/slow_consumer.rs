//! A client that stops reading holds nobody up (src/server/outbox.rs): its snapshots are
//! latest-wins, its reliable messages wait in a bounded queue, and once its backlog lasts
//! (above `--client-queue` for longer than `--slow-grace`, or at the hard cap) it is closed
//! with 1008 "too slow". Meanwhile a well-behaved client in the same room gets every
//! snapshot on schedule and every relayed message.
//!
//! This test is a binary of its own rather than a module of `tests/it`: it asserts exact
//! values of process-wide series (`ballroom_connections`, `ballroom_disconnects_total`,
//! `ballroom_snapshots_skipped_total`, `ballroom_tick_lateness_seconds`), which the servers
//! of the tests running beside it in one process would move.

// The shared harness, of which this test uses a part.
#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::time::Duration;

use ballroom::host::QueueLimits;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Client, Server, WAIT, config, eventually, poll, start};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const ROOM: &str = "/slow-consumer";
/// `--client-queue` for this server: the backlog of reliable frames a client may have
/// waiting for longer than a moment.
const QUEUE: u32 = 16;
/// Each relayed message, in bytes (half the default `--max-message-size`): a few fill the
/// slow client's socket, and even a kernel send buffer autotuned to a few MiB (as Linux does
/// on loopback when the server leaves it alone) fills within a second or two.
const RELAY_SIZE: usize = 32 * 1024;
/// How long the slow client is stalled (at least) before its queue is made to overflow.
const STALL: Duration = Duration::from_secs(3);

/// The `i`th relayed message: plain text (not JSON), so the server relays it untouched.
fn relay(i: usize) -> String {
    let head = format!("relay {i:05} ");
    format!("{head}{}", "x".repeat(RELAY_SIZE - head.len()))
}

fn relay_index(text: &str) -> Option<usize> {
    text.strip_prefix("relay ")?.get(..5)?.parse().ok()
}

fn kick(direction: f64) -> Value {
    // 10 N·s on a 5 kg ball: 2 m/s, enough to keep it rolling (awake) for half a second.
    json!({"type":"kick","ball":0,"impulse":[0.0, 0.0, 10.0 * direction]})
}

/// A series' value in the Prometheus exposition (0 when it was never recorded).
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[derive(Debug, Clone, Copy)]
struct Metrics {
    skipped: f64,
    too_slow: f64,
    connections: f64,
}

async fn metrics(server: &Server) -> Metrics {
    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, 200, "{body}");
    Metrics {
        skipped: series(&body, "ballroom_snapshots_skipped_total"),
        too_slow: series(&body, "ballroom_disconnects_total{reason=\"too_slow\"}"),
        connections: series(&body, "ballroom_connections"),
    }
}

/// A protocol client whose socket takes almost nothing before the server must wait: a
/// 4 KiB receive buffer, set before `connect` so the window is small from the start.
async fn connect_slow(server: &Server) -> WebSocketStream<TcpStream> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = tokio::time::timeout(WAIT, socket.connect(server.addr))
        .await
        .expect("connect timed out")
        .unwrap();
    let url = format!("ws://{}{ROOM}?protocol=json", server.addr);
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
        .await
        .expect("handshake timed out")
        .expect("handshake failed");
    ws
}

/// A snapshot as the good client saw it.
#[derive(Debug)]
struct Snap {
    tick: u64,
    /// Some ball was awake (the room was not at rest).
    awake: bool,
    arrived: Instant,
}

/// What the good client saw while the slow one stalled.
#[derive(Default)]
struct Seen {
    snapshots: Vec<Snap>,
    kick_ticks: Vec<u64>,
    relays: Vec<usize>,
    errors: Vec<Value>,
    /// Clients that left the room.
    left: Vec<u64>,
}

/// The well-behaved client: reads everything as it comes and kicks ball 0 every half
/// second (alternating directions) to keep the room awake, until `stop` says how many
/// relayed messages were sent; then it reads on until it has them all.
async fn good_client(mut client: Client, mut stop: oneshot::Receiver<usize>) -> (Client, Seen) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut kicks = tokio::time::interval(Duration::from_millis(500));
    let mut direction = 1.0;
    let mut expected: Option<usize> = None;
    let mut seen = Seen::default();
    while expected.is_none_or(|n| seen.relays.len() < n) {
        tokio::select! {
            biased;
            n = &mut stop, if expected.is_none() => expected = Some(n.expect("the test ended early")),
            _ = kicks.tick(), if expected.is_none() => {
                client.send_json(kick(direction)).await;
                direction = -direction;
            }
            frame = client.ws.next() => {
                let arrived = Instant::now();
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(other)) => panic!("the good client got {other:?}"),
                    Some(Err(e)) => panic!("the good client's connection failed: {e}"),
                    None => panic!("the good client's connection ended"),
                };
                if let Some(i) = relay_index(&text) {
                    seen.relays.push(i);
                    continue;
                }
                let v: Value = serde_json::from_str(&text).unwrap();
                match v["type"].as_str() {
                    Some("snapshot") => seen.snapshots.push(Snap {
                        tick: v["tick"].as_u64().unwrap(),
                        awake: v["balls"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|b| b["sleeping"] == false),
                        arrived,
                    }),
                    Some("kick") => seen.kick_ticks.push(v["tick"].as_u64().unwrap()),
                    Some("error") => seen.errors.push(v),
                    Some("left") => seen.left.push(v["client"].as_u64().unwrap()),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(deadline) => panic!(
                "the good client timed out: {} of {expected:?} relayed messages",
                seen.relays.len()
            ),
        }
    }
    (client, seen)
}

/// What the slow client finds once it reads again: relayed messages, snapshot ticks and
/// the close frame that ends them.
async fn drain_slow(mut ws: WebSocketStream<TcpStream>) -> (Vec<usize>, Vec<u64>, CloseFrame) {
    let deadline = Instant::now() + WAIT;
    let (mut relays, mut ticks) = (Vec::new(), Vec::new());
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!(
                "no close frame in time ({} relayed messages, {} snapshots read)",
                relays.len(),
                ticks.len()
            ),
            Ok(Some(Ok(Message::Close(frame)))) => {
                return (relays, ticks, frame.expect("a close frame with a code"));
            }
            Ok(Some(Ok(Message::Text(t)))) => {
                if let Some(i) = relay_index(&t) {
                    relays.push(i);
                } else {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "snapshot" {
                        ticks.push(v["tick"].as_u64().unwrap());
                    }
                }
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => panic!(
                "the slow client's read failed before the close frame ({} relayed messages read): {e}",
                relays.len()
            ),
            Ok(None) => panic!("the slow client's connection ended without a close frame"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_cut_off_and_delays_nobody() {
    let mut cfg = config();
    cfg.client_queue = QUEUE;
    // The sender relays far more than the default 60/s budget would let through.
    cfg.max_message_rate = 1000.0;
    cfg.message_burst = 1000;
    assert!(RELAY_SIZE < cfg.max_message_size);
    let server = start(cfg).await;

    let (mut good, welcome) = server.protocol(&format!("{ROOM}?scene=kickballs")).await;
    let tick_rate = welcome["tick_rate"].as_f64().unwrap();
    let snapshot_rate = welcome["snapshot_rate"].as_f64().unwrap();
    let interval = (tick_rate / snapshot_rate).round() as u64;
    assert_eq!(interval as f64, tick_rate / snapshot_rate, "{welcome}");
    assert!(
        welcome["scene"]["balls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == 0),
        "{welcome}"
    );

    let mut sender = server.plain(&format!("{ROOM}?echo=false")).await;
    good.recv_type("joined").await;
    good.send_json(kick(1.0)).await;
    good.recv_type("kick").await;

    let before = metrics(&server).await;
    assert_eq!(before.connections, 2.0, "{before:?}");
    assert_eq!(before.too_slow, 0.0, "{before:?}");

    // The slow client joins, then never reads again until the end.
    let slow = connect_slow(&server).await;
    let slow_id = good.recv_type("joined").await["client"].as_u64().unwrap();
    let stalled = Instant::now();
    let (stop, stopped) = oneshot::channel();
    let watcher = tokio::spawn(good_client(good, stopped));

    // 1. Relay until the slow client's writer is stuck: its socket is full (however big the
    //    server's kernel send buffer is), so its snapshots, each replaced by the next, are
    //    counted as skipped. A skip or two could be a busy moment for the good client; a
    //    stuck writer keeps skipping with nothing more sent.
    let mut sent = 0;
    let mut skipped = before.skipped;
    let fill_deadline = Instant::now() + Duration::from_secs(6);
    let stuck = loop {
        // Paced, so that its queue cannot overflow before the stuck writer shows. Stays a
        // sleep: the pace of sending is the point, not a condition.
        sender.send_text(&relay(sent)).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let m = metrics(&server).await;
        if m.skipped > skipped {
            // Three more skips within 250 ms, with nothing more sent: stuck.
            let s = &server;
            let more = poll(Duration::from_millis(250), || async move {
                let later = metrics(s).await;
                (later.skipped - m.skipped >= 3.0).then_some(later)
            })
            .await;
            if let Some(later) = more {
                break later;
            }
            skipped = metrics(&server).await.skipped;
        }
        assert!(
            Instant::now() < fill_deadline,
            "the slow client's socket never filled ({sent} messages sent): {m:?}"
        );
    };
    let filled = sent;
    assert_eq!(stuck.too_slow, before.too_slow, "{stuck:?}");
    assert_eq!(stuck.connections, 3.0, "{stuck:?}");

    // 2. Hold: the slow client stays stalled for the rest of the window. Its snapshots keep
    //    being replaced (latest-wins), never queued, so it is not cut off for them.
    let hold = (stalled + STALL).max(Instant::now() + Duration::from_secs(1));
    tokio::time::sleep_until(hold).await;
    let held = metrics(&server).await;
    assert!(
        held.skipped - stuck.skipped >= 10.0,
        "a stalled client's snapshots are replaced, latest-wins: {stuck:?} -> {held:?}"
    );
    assert_eq!(
        (held.too_slow, held.connections),
        (before.too_slow, 3.0),
        "snapshots alone never make a client too slow: {held:?}"
    );

    // 3. A lasting backlog of reliable messages: the slow client is cut off. Its backlog
    //    passes `QUEUE` within a few more messages; the policy allows that for at most
    //    `--slow-grace` and never past `QueueLimits::HARD_FACTOR × QUEUE` messages held, so the cut comes
    //    after a bounded number more (plus one the metrics may lag behind), not never.
    let hard_cap = QueueLimits::HARD_FACTOR * QUEUE as usize;
    let mut extra = 0;
    let cut = loop {
        sender.send_text(&relay(sent)).await;
        sent += 1;
        extra += 1;
        let m = metrics(&server).await;
        if m.too_slow > before.too_slow {
            break m;
        }
        assert!(
            extra <= hard_cap + 1,
            "{extra} more messages held for a stuck client that is still connected: {m:?}"
        );
        // Stays a sleep: paced like the messages before, so that the metrics keep up.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(cut.too_slow - before.too_slow, 1.0, "{cut:?}");
    assert!(
        extra <= hard_cap + 2,
        "a stuck client had {extra} more reliable frames accepted for it; at most {hard_cap} may wait"
    );

    // The slow client reads again at last: what was already on its way, then the close.
    let cut_at = Instant::now();
    let (slow_relays, slow_ticks, close) = drain_slow(slow).await;
    let closed = Instant::now();
    eprintln!(
        "stuck after {filled} relayed messages, cut off after {extra} more, {:?} into the \
         stall; in the next {:?} the slow client read {} relayed messages and {} snapshots (last tick \
         {:?}) before {close:?}",
        cut_at - stalled,
        closed - cut_at,
        slow_relays.len(),
        slow_ticks.len(),
        slow_ticks.last(),
    );
    assert_eq!(close.code, CloseCode::Policy, "{close:?}");
    assert!(close.reason.starts_with("too slow"), "{close:?}");
    // Nothing was dropped before the cut: it gets what was already buffered or queued for
    // it, in order.
    assert!(
        slow_relays.len() >= filled && slow_relays[..filled].iter().copied().eq(0..filled),
        "the slow client lost a message before it was cut off: {filled} sent while it was \
         not yet stuck, it got {slow_relays:?}"
    );
    assert!(
        slow_relays.windows(2).all(|w| w[0] < w[1]),
        "in order: {slow_relays:?}"
    );

    // It is gone: the gauge drops back to the two that read.
    let s = &server;
    let m = eventually("the slow client no longer counted", || async move {
        let m = metrics(s).await;
        (m.connections == 2.0).then_some(m)
    })
    .await;
    assert_eq!(m.too_slow - before.too_slow, 1.0, "{m:?}");

    // The good client: every relayed message, in order, and never a late snapshot.
    stop.send(sent).unwrap();
    let (mut good, seen) = tokio::time::timeout(Duration::from_secs(15), watcher)
        .await
        .expect("the good client never finished")
        .expect("the good client failed");
    assert_eq!(
        seen.relays,
        (0..sent).collect::<Vec<_>>(),
        "the good client gets every relayed message, in order"
    );
    assert!(
        seen.errors.is_empty(),
        "kicks and relays accepted: {:?}",
        seen.errors
    );
    let mut left = seen.left.clone();
    if left.is_empty() {
        // The `left` may come after the last relayed message.
        left.push(good.recv_type("left").await["client"].as_u64().unwrap());
    }
    assert_eq!(left, [slow_id], "the slow client left the room");
    let stall: Vec<&Snap> = seen
        .snapshots
        .iter()
        .filter(|s| s.arrived <= closed)
        .collect();
    assert!(stall.len() >= 2, "{} snapshots", stall.len());
    let (first, last) = (stall[0], stall[stall.len() - 1]);
    assert!(
        stall.iter().all(|s| s.awake),
        "the kicks kept the room awake through the stall"
    );
    // Every snapshot of a moving room, each on its tick: consecutive ticks are exactly
    // `interval` apart, or less where a kick's own tick got one of its own. The one thing
    // that may cost the good client a snapshot is a starved host: a room that wakes late
    // runs the missed ticks back to back, and only the newest of their snapshots is sent
    // (latest-wins, for everyone). The server reports such wake-ups itself.
    let (_, body) = server.get("/metrics").await;
    let late_wakes = series(&body, "ballroom_tick_lateness_seconds_count")
        - series(&body, "ballroom_tick_lateness_seconds_bucket{le=\"0.025\"}");
    let mut missed = Vec::new();
    for pair in seen.snapshots.windows(2).filter(|p| p[0].awake) {
        let gap = pair[1].tick - pair[0].tick;
        assert!(gap >= 1, "ticks {} then {}", pair[0].tick, pair[1].tick);
        if gap > interval {
            missed.push((pair[0].tick, pair[1].tick));
            continue;
        }
        assert!(
            gap == interval || seen.kick_ticks.contains(&pair[1].tick),
            "an extra snapshot at tick {} that no kick explains",
            pair[1].tick
        );
    }
    assert!(
        missed.len() as f64 <= late_wakes,
        "the good client missed snapshots between ticks {missed:?} (the interval is \
         {interval}), and the room never woke more than 25 ms late ({late_wakes} times)"
    );
    // ... across the whole stall (the room never stopped or fell far behind) ...
    let window = (closed - stalled).as_secs_f64();
    assert!(
        (last.tick - first.tick) as f64 >= 0.8 * window * tick_rate,
        "snapshots span ticks {}..{} over a {window:.2} s stall",
        first.tick,
        last.tick
    );
    // ... and delivered as they were made (a generous bound: a stalled room or a client
    // held up behind the slow one would be seconds late).
    let late = stall
        .iter()
        .map(|s| {
            let due =
                first.arrived + Duration::from_secs_f64((s.tick - first.tick) as f64 / tick_rate);
            s.arrived.saturating_duration_since(due)
        })
        .max()
        .unwrap();
    assert!(
        late < Duration::from_secs(1),
        "a snapshot arrived {late:?} late"
    );
    eprintln!(
        "the good client got {} snapshots (ticks {}..{}) during the stall, at most {late:?} \
         late, missing {missed:?} ({late_wakes} late room wake-ups), and all {sent} relayed \
         messages",
        stall.len(),
        first.tick,
        last.tick
    );
    // The slow client, meanwhile, got no snapshot for the last second of its stall: they
    // were replaced, not queued for it.
    assert!(slow_ticks.windows(2).all(|w| w[0] < w[1]), "{slow_ticks:?}");
    assert!(
        slow_ticks
            .last()
            .is_some_and(|&t| t + tick_rate as u64 / 2 <= last.tick),
        "the stalled client's last snapshot is tick {:?}, the room's {}",
        slow_ticks.last(),
        last.tick
    );
    assert!(seen.kick_ticks.len() >= 5, "{:?}", seen.kick_ticks);

    // The good client and the sender are still connected and served.
    sender.send_text("after").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match good
            .try_next(left)
            .await
            .expect("the relay after the stall never came")
        {
            Message::Text(t) if t.as_str() == "after" => break,
            _ => continue,
        }
    }
    good.send_json(json!({"type":"ping","t":1})).await;
    assert_eq!(good.recv_type("pong").await["t"], 1);
    server.stop().await;
}
