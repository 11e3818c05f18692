//! Binary snapshots of the `ballroom.v2` wire format: quantized, delta-encoded against
//! the last snapshot a client's writer handed to its socket, one binary WebSocket frame
//! each. The byte layout, the formulas and the error bounds are specified in
//! `docs/PROTOCOL.md` (`## Binary snapshots (ballroom.v2)`); test vectors are in
//! `tests/vectors/snapshots.json`.
//!
//! - [`params`]: [`Params`], derived from the scene and tick rate ([`Params::for_scene`]),
//!   what the `welcome` must declare.
//! - [`quantize`]: domain [`Snapshot`](crate::room::Snapshot) → [`QuantizedSnapshot`]
//!   (integers, clamped, never NaN) and back ([`QuantizedSnapshot::to_snapshot`]);
//!   [`Quantizer`] does the same for a room's stream of snapshots, reusing unchanged bodies.
//! - [`encode()`] / [`decode()`]: keyframes and deltas; [`SnapshotFrames`] encodes one
//!   snapshot once per distinct baseline.
//! - `predict`: the prediction both ends make from the baseline; `bits`: bit packing.
//!
//! Use: quantize each room snapshot once (with the room's [`Quantizer`]); for every client pick its baseline (the
//! quantized snapshot of the last frame its writer actually wrote, or `None` for a client
//! that just joined, resumed, or whose pending snapshot was replaced by a newer one
//! before it was written), and send `frames.frame(baseline)`. The client decodes with the
//! quantized snapshot it decoded last and keeps the result as its next baseline.

mod bits;
pub mod decode;
#[cfg(test)]
mod doc_tests;
pub mod encode;
pub mod frame;
pub mod params;
mod predict;
#[cfg(test)]
mod property_tests;
pub mod quantize;
mod quantizer;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};

use bytes::Bytes;

pub use decode::{FrameHeader, decode, header};
pub use encode::encode;
pub use params::{FORMAT_VERSION, Params};
pub use quantize::{QBall, QPlayer, QRot, QuantizeError, QuantizedSnapshot, quantize};
pub use quantizer::Quantizer;

use crate::ids::ClientId;

/// First byte, bit 0: a delta frame (else a keyframe).
pub(crate) const FLAG_DELTA: u8 = 0x01;
/// Bit 1: the players section is present (a keyframe: there are players; a delta: the
/// players changed).
pub(crate) const FLAG_PLAYERS: u8 = 0x02;
/// Bit 2: the acks section is present (same rule).
pub(crate) const FLAG_ACKS: u8 = 0x04;
/// Bit 3: reserved, zero.
pub(crate) const FLAG_RESERVED: u8 = 0x08;

/// Exp-Golomb orders of the delta residuals, chosen by measuring real `kickballs`
/// trajectories (see `tests/it/codec_v2.rs`).
pub(crate) const K_LINVEL: u32 = 0;
pub(crate) const K_ANGVEL: u32 = 0;
pub(crate) const K_POSITION: u32 = 0;
pub(crate) const K_ROTATION: u32 = 0;
pub(crate) const K_PLAYER_POSITION: u32 = 4;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the frame ends early")]
    Truncated,
    #[error("bytes follow the last field")]
    TrailingBytes,
    #[error("the padding bits of the last byte are not zero")]
    BadPadding,
    #[error("a variable-length integer is malformed")]
    BadVarint,
    #[error("an Exp-Golomb code is longer than 64 bits")]
    CodeTooLong,
    #[error("binary snapshot format {0} is not supported")]
    UnsupportedVersion(u8),
    #[error("reserved flag bits are set in {0:#04x}")]
    BadFlags(u8),
    #[error("a delta frame's tick delta {0} is zero or exceeds its tick")]
    BadTickDelta(u64),
    #[error("a delta frame against tick {wanted} arrived without a baseline")]
    MissingBaseline { wanted: u64 },
    #[error("a delta frame against tick {wanted}, but the baseline is tick {have}")]
    WrongBaseline { wanted: u64, have: u64 },
    #[error("the baseline's balls are not the scene's")]
    BaselineBalls,
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    #[error("removed player {0} is not in the baseline")]
    UnknownPlayer(ClientId),
    #[error("added player {0} is already in the baseline")]
    DuplicatePlayer(ClientId),
    #[error("removed ack of client {0} is not in the baseline")]
    UnknownAck(ClientId),
}

/// The frames of one snapshot, encoded once per distinct baseline: a room quantizes each
/// snapshot once into a `SnapshotFrames`, shares it (behind an `Arc`) with every binary
/// client's writer, and each writer asks it for the frame against the snapshot it last
/// sent; writers that share a baseline tick share the bytes, and the first to ask encodes.
#[derive(Debug)]
pub struct SnapshotFrames {
    params: Arc<Params>,
    current: Arc<QuantizedSnapshot>,
    /// By baseline (`None`: the keyframe). Keyed by the whole baseline, not its tick: two
    /// snapshots of one tick can differ (a `state` reply or a promotion after a pose
    /// changed between ticks), and a delta against one is garbage against the other.
    /// Few entries: a linear search, whose equality test looks at the tick first.
    frames: Mutex<Vec<(Option<QuantizedSnapshot>, Bytes)>>,
}

impl SnapshotFrames {
    pub fn new(params: Arc<Params>, current: QuantizedSnapshot) -> SnapshotFrames {
        SnapshotFrames {
            params,
            current: Arc::new(current),
            frames: Mutex::new(Vec::new()),
        }
    }

    /// The snapshot itself: what a client holds once it has decoded any of its frames.
    pub fn current(&self) -> &Arc<QuantizedSnapshot> {
        &self.current
    }

    /// The frame for a client whose baseline is `baseline` (the last snapshot of this room
    /// it received).
    pub fn frame(&self, baseline: Option<&QuantizedSnapshot>) -> Bytes {
        let baseline = baseline.filter(|b| b.tick < self.current.tick);
        let mut frames = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bytes)) = frames.iter().find(|(k, _)| k.as_ref() == baseline) {
            return bytes.clone();
        }
        let bytes = Bytes::from(encode(&self.params, baseline, &self.current));
        frames.push((baseline.cloned(), bytes.clone()));
        bytes
    }

    /// How many encodings were made (one per distinct baseline asked for).
    pub fn encodings(&self) -> usize {
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
