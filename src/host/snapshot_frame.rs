//! A snapshot as an outbox holds it until its writer sends it: JSON text for `ballroom.v1`
//! clients, or, for `ballroom.v2` clients, the room's quantized snapshot, from which the
//! writer takes the binary frame that is a delta against the last snapshot *it* wrote to
//! its socket. The writer knows that baseline exactly, so latest-wins skipping never
//! leaves a client with a delta against a snapshot it did not get.
//!
//! Encode once still holds: the room quantizes each snapshot once, and each distinct
//! baseline is encoded once, by whichever writer asks for it first; in the normal case
//! every client of a room shares one baseline and so one buffer.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message;

use crate::protocol::binary::{QuantizedSnapshot, SnapshotFrames};

/// One pending snapshot.
#[derive(Clone, Debug)]
pub enum SnapshotFrame {
    /// JSON, the same bytes for every `ballroom.v1` client.
    Json(Message),
    /// Binary: the room's quantized snapshot; each writer takes the frame against its own
    /// baseline.
    Binary(Arc<SnapshotFrames>),
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
            SnapshotFrame::Binary(frames) => {
                let bytes = frames.frame(self.last_binary.as_deref());
                self.last_binary = Some(frames.current().clone());
                Message::Binary(bytes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::binary::{self, Params};
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
            Arc::new(SnapshotFrames::new(params.clone(), quantized))
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
        let decoded = binary::decode(&params, Some(first.current()), a).unwrap();
        assert_eq!(decoded, **second.current());
        assert_eq!(
            binary::decode(&params, None, &key).unwrap(),
            **second.current()
        );
    }

    #[test]
    fn two_baselines_of_one_tick_get_their_own_deltas() {
        let scene = SceneLibrary::builtin().get("kickballs").unwrap();
        let params = Arc::new(Params::for_scene(&scene, 60.0));
        let mut room = Room::new(scene, SimConfig::default());
        let mut next = || {
            let effects = std::iter::repeat_with(|| room.tick())
                .find(|e| e.snapshot.is_some())
                .unwrap();
            binary::quantize(&params, &effects.snapshot.unwrap()).unwrap()
        };
        // A broadcast snapshot and, at the same tick, another one (a promotion after a
        // pose changed): different contents, one tick.
        let broadcast = next();
        let mut promotion = broadcast.clone();
        promotion.balls[0].position[0] += 7;
        let second = Arc::new(SnapshotFrames::new(params.clone(), next()));
        let mut a = SentSnapshots::default();
        let mut b = SentSnapshots::default();
        let first_a = Arc::new(SnapshotFrames::new(params.clone(), broadcast.clone()));
        let first_b = Arc::new(SnapshotFrames::new(params.clone(), promotion.clone()));
        a.message(SnapshotFrame::Binary(first_a));
        b.message(SnapshotFrame::Binary(first_b));
        let Message::Binary(to_a) = a.message(SnapshotFrame::Binary(second.clone())) else {
            panic!()
        };
        let Message::Binary(to_b) = b.message(SnapshotFrame::Binary(second.clone())) else {
            panic!()
        };
        assert_eq!(
            second.encodings(),
            2,
            "one delta per baseline, not per tick"
        );
        assert_eq!(
            binary::decode(&params, Some(&broadcast), &to_a).unwrap(),
            **second.current()
        );
        assert_eq!(
            binary::decode(&params, Some(&promotion), &to_b).unwrap(),
            **second.current()
        );
    }
}
