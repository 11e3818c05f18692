//! Snapshots as a physics client reads them, from JSON text (`ballroom.v1`) or binary
//! frames (`ballroom.v2`, decoded with the crate's own decoder against the baseline each
//! frame names).

use std::collections::VecDeque;

use ballroom::protocol::binary::{self, Params, QuantizedSnapshot};
use serde::Deserialize;

/// How many decoded snapshots a binary client keeps as possible baselines. The server
/// names the last one this client's writer sent, which is the newest here; a few more
/// cost nothing.
const HISTORY: usize = 4;

/// A ball as this tool reads it.
#[derive(Deserialize)]
pub struct BallLite {
    pub id: u64,
    #[serde(default)]
    pub p: Option<[f64; 3]>,
    #[serde(default)]
    pub sleeping: bool,
}

/// What a physics client uses of one snapshot.
pub struct SnapshotView {
    pub tick: u64,
    pub balls: Vec<BallLite>,
    /// This client's last acknowledged kick.
    pub my_ack: Option<u64>,
}

/// A binary client's decoder: the welcome's parameters and the last snapshots decoded.
pub struct BinaryDecoder {
    params: Params,
    history: VecDeque<QuantizedSnapshot>,
}

impl BinaryDecoder {
    pub fn new(params: Params) -> BinaryDecoder {
        BinaryDecoder {
            params,
            history: VecDeque::with_capacity(HISTORY),
        }
    }

    /// Decode one binary frame for client `me`: `None` for a frame another client sent,
    /// relayed (behind the relayed tag, `binary::frame`).
    pub fn decode(&mut self, frame: &[u8], me: u64) -> Result<Option<SnapshotView>, String> {
        let bytes = match binary::frame::read(frame).map_err(|e| e.to_string())? {
            binary::frame::Frame::Relayed(_) => return Ok(None),
            binary::frame::Frame::Snapshot(bytes) => bytes,
        };
        let header = binary::header(bytes).map_err(|e| e.to_string())?;
        let baseline = match header.baseline_tick {
            None => None,
            Some(t) => Some(
                // The newest of that tick: two snapshots can share a tick (a `state`
                // reply), and the server's baseline is always the last one it sent.
                self.history
                    .iter()
                    .rev()
                    .find(|s| s.tick == t)
                    .ok_or_else(|| format!("a delta against tick {t}, which this client lacks"))?,
            ),
        };
        let q = binary::decode(&self.params, baseline, bytes).map_err(|e| e.to_string())?;
        let snapshot = q.to_snapshot(&self.params);
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(q);
        Ok(Some(SnapshotView {
            tick: snapshot.tick,
            balls: snapshot
                .balls
                .iter()
                .map(|b| BallLite {
                    id: u64::from(b.id),
                    p: Some(b.position.map(f64::from)),
                    sleeping: b.sleeping,
                })
                .collect(),
            my_ack: snapshot.acks.get(&me).copied(),
        }))
    }
}
