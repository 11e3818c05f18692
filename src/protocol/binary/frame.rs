//! How a `ballroom.v2` connection's binary frames are told apart: the server's snapshots
//! start with their flags byte, whose high nibble is the format (1, so `0x10..=0x17`);
//! a frame some other client sent, relayed, starts with [`RELAYED`] (`0x00`) followed by
//! the sender's bytes unchanged. A relayed frame can therefore never be read as a
//! snapshot, whatever its bytes. Plain and `ballroom.v1` clients get relayed frames
//! verbatim: they receive no binary snapshots to confuse them with.
//!
//! The layout and test vectors are in `docs/PROTOCOL.md` (`### Relayed binary frames`) and
//! `tests/vectors/frames.json`.

use bytes::{BufMut, Bytes, BytesMut};

use super::params::FORMAT_VERSION;

/// First byte of a relayed binary frame on a `ballroom.v2` connection.
pub const RELAYED: u8 = 0x00;

/// One binary frame received on a `ballroom.v2` connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A server snapshot: the whole frame, to [`decode`](super::decode).
    Snapshot(&'a [u8]),
    /// A frame another client sent: its bytes, as sent.
    Relayed(&'a [u8]),
}

/// Why a binary frame is neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("an empty binary frame")]
    Empty,
    #[error("a binary frame starting with {0:#04x} is neither a snapshot nor relayed")]
    UnknownTag(u8),
}

/// Which kind of frame `bytes` is, by its first byte.
pub fn read(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    match bytes.split_first() {
        None => Err(FrameError::Empty),
        Some((&RELAYED, rest)) => Ok(Frame::Relayed(rest)),
        Some((&first, _)) if first >> 4 == FORMAT_VERSION => Ok(Frame::Snapshot(bytes)),
        Some((&first, _)) => Err(FrameError::UnknownTag(first)),
    }
}

/// A relayed binary frame as a `ballroom.v2` client receives it: [`RELAYED`], then `payload`.
pub fn relayed(payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(payload.len() + 1);
    out.put_u8(RELAYED);
    out.put_slice(payload);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_and_relayed_frames_are_told_apart() {
        assert_eq!(read(&[0x10, 0x00]), Ok(Frame::Snapshot(&[0x10, 0x00])));
        assert_eq!(read(&[0x17, 0x05]), Ok(Frame::Snapshot(&[0x17, 0x05])));
        assert_eq!(read(&[0x00]), Ok(Frame::Relayed(&[])));
        // A replayed keyframe, relayed, is relayed.
        let key = [0x10, 0x01, 0xaa];
        assert_eq!(read(&relayed(&key)), Ok(Frame::Relayed(&key[..])));
        assert_eq!(read(&[]), Err(FrameError::Empty));
        assert_eq!(read(&[0x21]), Err(FrameError::UnknownTag(0x21)));
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// `tests/vectors/frames.json`: each frame reads as its kind, and relaying each
    /// payload gives the frame.
    #[test]
    fn the_frame_vectors_hold() {
        let text = include_str!("../../../tests/vectors/frames.json");
        let vectors: serde_json::Value = serde_json::from_str(text).expect("JSON");
        let vectors = vectors["vectors"].as_array().expect("vectors");
        assert!(vectors.len() >= 8);
        for v in vectors {
            let name = v["name"].as_str().unwrap_or_default();
            let frame = unhex(v["frame"].as_str().unwrap_or_default());
            match v["kind"].as_str() {
                Some("snapshot") => {
                    assert_eq!(read(&frame), Ok(Frame::Snapshot(&frame[..])), "{name}");
                    assert!(super::super::header(&frame).is_ok(), "{name}");
                }
                Some("relayed") => {
                    let payload = unhex(v["payload"].as_str().unwrap_or_default());
                    assert_eq!(read(&frame), Ok(Frame::Relayed(&payload[..])), "{name}");
                    assert_eq!(&relayed(&payload)[..], &frame[..], "{name}");
                }
                Some("invalid") => assert!(read(&frame).is_err(), "{name}"),
                other => panic!("{name}: kind {other:?}"),
            }
        }
    }
}
