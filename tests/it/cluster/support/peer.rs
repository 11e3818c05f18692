//! WebSocket clients that read every frame as it arrives, stamped with its arrival, and
//! assertions on the histories they saw.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// One frame as a client received it, stamped with its arrival.
#[derive(Clone, Debug)]
pub struct Seen {
    pub at: Instant,
    pub frame: Frame,
}

#[derive(Clone, Debug)]
pub enum Frame {
    /// A text frame; its JSON if it parses.
    Text(String, Option<Value>),
    Binary(Vec<u8>),
    /// The server's close frame: code and reason.
    Close(Option<u16>, String),
    /// The connection ended (with or without a close frame before).
    Ended(String),
}

impl Frame {
    /// One line for a report.
    pub fn describe(&self) -> String {
        match self {
            Frame::Text(t, _) => format!("text {t}"),
            Frame::Binary(b) => format!("binary, {} bytes", b.len()),
            Frame::Close(code, reason) => format!("close {code:?} {reason:?}"),
            Frame::Ended(why) => format!("ended: {why}"),
        }
    }
}

impl Seen {
    pub fn json(&self) -> Option<&Value> {
        match &self.frame {
            Frame::Text(_, v) => v.as_ref(),
            _ => None,
        }
    }

    /// A JSON snapshot.
    pub fn snapshot(&self) -> Option<&Value> {
        self.json().filter(|v| v["type"] == "snapshot")
    }
}

/// A WebSocket client whose frames are read as they arrive by a task of its own.
pub struct Peer {
    pub name: String,
    /// When its WebSocket handshake completed.
    pub connected: Instant,
    sink: SplitSink<Ws, Message>,
    rx: mpsc::UnboundedReceiver<Seen>,
    /// Every frame taken from the reader so far, in order.
    pub seen: Vec<Seen>,
    reader: JoinHandle<()>,
}

impl Peer {
    pub fn watch(name: String, ws: Ws) -> Peer {
        let (sink, stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_all(stream, tx));
        Peer {
            name,
            connected: Instant::now(),
            sink,
            rx,
            seen: Vec::new(),
            reader,
        }
    }

    pub async fn send(&mut self, msg: Message) {
        self.sink.send(msg).await.unwrap();
    }

    /// Send a frame if the connection still takes it (a node's death may have ended it).
    pub async fn try_send(&mut self, msg: Message) -> bool {
        self.sink.send(msg).await.is_ok()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text)).await;
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    /// Take every frame that has arrived by now, without waiting.
    pub fn take_arrived(&mut self) {
        while let Ok(s) = self.rx.try_recv() {
            self.seen.push(s);
        }
    }

    /// Everything that arrives within `wait`.
    pub async fn collect(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(s)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.seen.push(s);
        }
    }

    /// Frames until one for which `pred` holds, for at most `wait`: that one, or None.
    pub async fn try_until(
        &mut self,
        wait: Duration,
        pred: impl Fn(&Seen) -> bool,
    ) -> Option<Seen> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let s = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()??;
            self.seen.push(s.clone());
            if pred(&s) {
                return Some(s);
            }
        }
    }

    /// Frames until one for which `pred` holds, failing the test after `wait`.
    pub async fn until(&mut self, wait: Duration, pred: impl Fn(&Seen) -> bool) -> Seen {
        match self.try_until(wait, pred).await {
            Some(s) => s,
            None => panic!(
                "{}: the expected frame did not come within {wait:?}; the last frames:\n{}",
                self.name,
                self.tail(8)
            ),
        }
    }

    /// JSON frames until one for which `pred` holds, failing the test after `wait`.
    pub async fn json_until(&mut self, wait: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.until(wait, |s| s.json().is_some_and(&pred))
            .await
            .json()
            .unwrap()
            .clone()
    }

    /// The next snapshot whose tick is above `tick`.
    pub async fn snapshot_after(&mut self, tick: u64, wait: Duration) -> Value {
        self.json_until(wait, |v| v["type"] == "snapshot" && tick_of(v) > tick)
            .await
    }

    /// The last `n` frames seen, one a line (long ones shortened).
    pub fn tail(&self, n: usize) -> String {
        self.seen[self.seen.len().saturating_sub(n)..]
            .iter()
            .map(|s| {
                let mut t = s.frame.describe();
                if t.len() > 300 {
                    let mut cut = 300;
                    while !t.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    t.truncate(cut);
                    t.push('…');
                }
                t
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The JSON snapshots seen, with their arrival.
    pub fn snapshots(&self) -> impl Iterator<Item = (Instant, &Value)> {
        self.seen.iter().filter_map(|s| Some((s.at, s.snapshot()?)))
    }

    /// The highest snapshot tick seen so far.
    pub fn last_tick(&self) -> Option<u64> {
        self.snapshots().map(|(_, v)| tick_of(v)).max()
    }

    /// The server's close frame, if one came.
    pub fn close_code(&self) -> Option<Option<u16>> {
        self.seen.iter().find_map(|s| match &s.frame {
            Frame::Close(code, _) => Some(*code),
            _ => None,
        })
    }

    /// Whether the connection has ended.
    pub fn ended(&self) -> bool {
        self.seen.iter().any(|s| matches!(s.frame, Frame::Ended(_)))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_all(mut stream: SplitStream<Ws>, tx: mpsc::UnboundedSender<Seen>) {
    loop {
        let frame = match stream.next().await {
            None => Frame::Ended("end of stream".to_owned()),
            Some(Err(e)) => Frame::Ended(e.to_string()),
            Some(Ok(Message::Text(t))) => {
                let v = serde_json::from_str(&t).ok();
                Frame::Text(t.to_string(), v)
            }
            Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
            Some(Ok(Message::Close(c))) => match c {
                Some(c) => Frame::Close(Some(c.code.into()), c.reason.to_string()),
                None => Frame::Close(None, String::new()),
            },
            Some(Ok(_)) => continue,
        };
        let end = matches!(frame, Frame::Ended(_));
        if tx
            .send(Seen {
                at: Instant::now(),
                frame,
            })
            .is_err()
            || end
        {
            return;
        }
    }
}

pub fn tick_of(snapshot: &Value) -> u64 {
    snapshot["tick"]
        .as_u64()
        .unwrap_or_else(|| panic!("no tick in {snapshot}"))
}

/// Check that no two snapshots of the same tick disagree on the balls, across every
/// client in `peers` and across time (a tick seen again after a takeover must show the
/// same world). Returns how many snapshots were compared with an earlier one of their tick.
pub fn assert_one_history(peers: &[&Peer]) -> usize {
    assert_one_world(
        peers
            .iter()
            .flat_map(|p| p.snapshots().map(|(_, s)| (p.name.as_str(), s))),
    )
}

/// `assert_one_history` over (client name, snapshot) pairs.
pub fn assert_one_world<'a>(snapshots: impl Iterator<Item = (&'a str, &'a Value)>) -> usize {
    let mut by_tick: BTreeMap<u64, (&str, &Value)> = BTreeMap::new();
    let mut compared = 0;
    for (name, snap) in snapshots {
        let tick = tick_of(snap);
        match by_tick.get(&tick) {
            None => {
                by_tick.insert(tick, (name, snap));
            }
            Some((first, earlier)) => {
                compared += 1;
                assert_eq!(
                    earlier["balls"], snap["balls"],
                    "two different worlds at tick {tick}: {first} saw one, {name} the other"
                );
            }
        }
    }
    compared
}

/// The largest gap between consecutive snapshot arrivals of `peer` from `from` on, and
/// the snapshot ticks on either side of it.
pub fn largest_gap(peer: &Peer, from: Instant) -> (Duration, u64, u64) {
    let mut best = (Duration::ZERO, 0, 0);
    let mut prev: Option<(Instant, u64)> = None;
    for (at, snap) in peer.snapshots() {
        if at < from {
            prev = Some((at, tick_of(snap)));
            continue;
        }
        if let Some((before, t)) = prev {
            let gap = at - before;
            if gap > best.0 {
                best = (gap, t, tick_of(snap));
            }
        }
        prev = Some((at, tick_of(snap)));
    }
    best
}
