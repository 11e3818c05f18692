//! A snapshot as an outbox holds it until its writer sends it: JSON text for `ballroom.v1`
//! clients, or, for `ballroom.v2` clients, the room's quantized snapshot, from which the
//! writer takes the binary frame that is a delta against the last snapshot *it* wrote to
//! its socket. The writer knows that baseline exactly, so latest-wins skipping never
//! leaves a client with a delta against a snapshot it did not get.
//!
//! Encode once still holds: the room quantizes each snapshot once, and each distinct
//! baseline is encoded once, by whichever writer asks for it first; in the normal case
//! every client of a room shares one baseline and so one buffer.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;

use crate::protocol::binary::{self, Params, QuantizedSnapshot};

/// One pending snapshot.
#[derive(Clone, Debug)]
pub enum SnapshotFrame {
    /// JSON, the same bytes for every `ballroom.v1` client.
    Json(Message),
    /// Binary: each writer asks for the frame against its own baseline.
    Binary(Arc<BinarySnapshot>),
}

/// One room snapshot, quantized, with its binary frames by baseline tick.
#[derive(Debug)]
pub struct BinarySnapshot {
    params: Arc<Params>,
    quantized: Arc<QuantizedSnapshot>,
    /// By baseline tick (`None`: the keyframe). A handful at most: a linear search.
    frames: Mutex<Vec<(Option<u64>, Bytes)>>,
}

impl BinarySnapshot {
    pub fn new(params: Arc<Params>, quantized: QuantizedSnapshot) -> BinarySnapshot {
        BinarySnapshot {
            params,
            quantized: Arc::new(quantized),
            frames: Mutex::new(Vec::new()),
        }
    }

    /// The frame for a client that last received `baseline` (`None`: a keyframe), and the
    /// snapshot that client then has, to use as its next baseline.
    pub fn frame_for(
        &self,
        baseline: Option<&QuantizedSnapshot>,
    ) -> (Bytes, Arc<QuantizedSnapshot>) {
        let baseline = baseline.filter(|b| b.tick < self.quantized.tick);
        let key = baseline.map(|b| b.tick);
        let mut frames = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = match frames.iter().find(|(k, _)| *k == key) {
            Some((_, bytes)) => bytes.clone(),
            None => {
                let bytes = Bytes::from(binary::encode(&self.params, baseline, &self.quantized));
                frames.push((key, bytes.clone()));
                bytes
            }
        };
        (bytes, self.quantized.clone())
    }

    /// How many encodings were made (one per distinct baseline asked for).
    pub fn encodings(&self) -> usize {
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// What a writer knows of the snapshots it sent: the baseline for the next binary frame.
#[derive(Default)]
pub struct SentSnapshots {
    last_binary: Option<Arc<QuantizedSnapshot>>,
}

impl SentSnapshots {
    /// The message to write for `frame`, remembering it as the client's new baseline.
    pub fn message(&mut self, frame: SnapshotFrame) -> Message {
        match frame {
            SnapshotFrame::Json(msg) => msg,
            SnapshotFrame::Binary(snapshot) => {
                let (bytes, now_has) = snapshot.frame_for(self.last_binary.as_deref());
                self.last_binary = Some(now_has);
                Message::Binary(bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::{Room, SimConfig};
    use crate::scene::SceneLibrary;

    #[test]
    fn each_baseline_is_encoded_once_and_writers_follow_what_they_sent() {
        let scene = SceneLibrary::builtin().get("kickballs").unwrap();
        let params = Arc::new(Params::for_scene(&scene, 60.0));
        let mut room = Room::new(scene, SimConfig::default());
        let mut snapshot = || {
            let effects = std::iter::repeat_with(|| room.tick())
                .find(|e| e.snapshot.is_some())
                .unwrap();
            let quantized = binary::quantize(&params, &effects.snapshot.unwrap()).unwrap();
            Arc::new(BinarySnapshot::new(params.clone(), quantized))
        };
        let (first, second) = (snapshot(), snapshot());
        // Ten writers that all sent `first` share one delta buffer for `second`.
        let mut writers: Vec<SentSnapshots> = (0..10).map(|_| SentSnapshots::default()).collect();
        for w in &mut writers {
            w.message(SnapshotFrame::Binary(first.clone()));
        }
        let frames: Vec<Message> = writers
            .iter_mut()
            .map(|w| w.message(SnapshotFrame::Binary(second.clone())))
            .collect();
        assert_eq!(first.encodings(), 1, "one keyframe");
        assert_eq!(second.encodings(), 1, "one delta for ten clients");
        let Message::Binary(a) = &frames[0] else {
            panic!()
        };
        let Message::Binary(b) = &frames[9] else {
            panic!()
        };
        assert_eq!(a.as_ptr(), b.as_ptr(), "the same bytes, shared");
        // A writer whose client skipped `first` (latest-wins) gets `second` as a keyframe,
        // a second encoding; the decoder confirms each frame against what it holds.
        let mut late = SentSnapshots::default();
        let Message::Binary(key) = late.message(SnapshotFrame::Binary(second.clone())) else {
            panic!()
        };
        assert_eq!(second.encodings(), 2);
        assert_eq!(binary::header(&key).unwrap().baseline_tick, None);
        let decoded = binary::decode(&params, Some(&first.quantized), a).unwrap();
        assert_eq!(decoded, *second.quantized);
        assert_eq!(
            binary::decode(&params, None, &key).unwrap(),
            *second.quantized
        );
    }
}
