//! The decoder: rebuilds exactly the [`QuantizedSnapshot`] the encoder had. Every read is
//! bounds-checked and every value range-checked: arbitrary bytes give a
//! [`DecodeError`], never a panic.

use std::collections::BTreeMap;

use super::bits::{BitReader, read_varint};
use super::params::{FORMAT_VERSION, Params, rotation_max};
use super::predict;
use super::quantize::{QBall, QPlayer, QRot, QuantizedSnapshot};
use super::{
    DecodeError, FLAG_ACKS, FLAG_DELTA, FLAG_PLAYERS, FLAG_RESERVED, K_ANGVEL, K_LINVEL,
    K_PLAYER_POSITION, K_POSITION, K_ROTATION,
};
use crate::ids::{ClientId, Team};

/// What a frame says about itself, readable without a baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub tick: u64,
    /// The tick of the baseline a delta frame needs; `None` for a keyframe.
    pub baseline_tick: Option<u64>,
    /// Bytes the header took.
    pub len: usize,
}

/// Read a frame's header: version, flags, tick and (for a delta) the baseline's tick.
pub fn header(bytes: &[u8]) -> Result<FrameHeader, DecodeError> {
    let flags = *bytes.first().ok_or(DecodeError::Truncated)?;
    if flags >> 4 != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(flags >> 4));
    }
    if flags & FLAG_RESERVED != 0 {
        return Err(DecodeError::BadFlags(flags));
    }
    let mut pos = 1;
    let tick = read_varint(bytes, &mut pos)?;
    let baseline_tick = if flags & FLAG_DELTA != 0 {
        let d = read_varint(bytes, &mut pos)?;
        if d == 0 || d > tick {
            return Err(DecodeError::BadTickDelta(d));
        }
        Some(tick - d)
    } else {
        None
    };
    Ok(FrameHeader {
        tick,
        baseline_tick,
        len: pos,
    })
}

/// Decode one frame. A delta needs the baseline it names (the quantized snapshot this
/// client decoded at that tick); a keyframe ignores `baseline`.
pub fn decode(
    params: &Params,
    baseline: Option<&QuantizedSnapshot>,
    bytes: &[u8],
) -> Result<QuantizedSnapshot, DecodeError> {
    let h = header(bytes)?;
    let flags = bytes[0];
    let baseline = match h.baseline_tick {
        None => None,
        Some(wanted) => {
            let b = baseline.ok_or(DecodeError::MissingBaseline { wanted })?;
            if b.tick != wanted {
                return Err(DecodeError::WrongBaseline {
                    wanted,
                    have: b.tick,
                });
            }
            if b.balls.len() != params.balls.len() {
                return Err(DecodeError::BaselineBalls);
            }
            Some(b)
        }
    };
    let mut r = BitReader::new(&bytes[h.len..]);
    let balls = match baseline {
        None => (0..params.balls.len())
            .map(|_| key_ball(&mut r, params))
            .collect::<Result<Vec<_>, _>>()?,
        Some(b) => {
            let n = h.tick - b.tick;
            b.balls
                .iter()
                .enumerate()
                .map(|(i, old)| delta_ball(&mut r, params, i, old, n))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let players = if flags & FLAG_PLAYERS != 0 {
        read_players(&mut r, params, baseline.map(|b| &b.players[..]))?
    } else {
        baseline.map(|b| b.players.clone()).unwrap_or_default()
    };
    let acks = if flags & FLAG_ACKS != 0 {
        read_acks(&mut r, baseline.map(|b| &b.acks))?
    } else {
        baseline.map(|b| b.acks.clone()).unwrap_or_default()
    };
    r.finish()?;
    Ok(QuantizedSnapshot {
        tick: h.tick,
        balls,
        players,
        acks,
    })
}

fn key_ball(r: &mut BitReader, params: &Params) -> Result<QBall, DecodeError> {
    let sleeping = r.bit()?;
    let moving = r.bit()?;
    let position = position(r, params)?;
    let rotation = rotation(r, params)?;
    let mut v = [[0i32; 3]; 2];
    if moving {
        for (out, p) in v.iter_mut().zip([&params.linvel, &params.angvel]) {
            for c in out.iter_mut() {
                let raw = r.bits(p.bits())?;
                if raw > 2 * p.limit {
                    return Err(DecodeError::OutOfRange("velocity"));
                }
                *c = raw as i32 - p.limit as i32;
            }
        }
    }
    Ok(QBall {
        sleeping,
        position,
        rotation,
        linvel: v[0],
        angvel: v[1],
    })
}

pub(crate) fn position(r: &mut BitReader, params: &Params) -> Result<[u32; 3], DecodeError> {
    let mut p = [0; 3];
    for (a, c) in p.iter_mut().enumerate() {
        *c = r.bits(params.position_bits(a))?;
        if *c > params.position.steps[a] {
            return Err(DecodeError::OutOfRange("position"));
        }
    }
    Ok(p)
}

pub(crate) fn rotation(r: &mut BitReader, params: &Params) -> Result<QRot, DecodeError> {
    let m = rotation_max(params.rotation_bits);
    let largest = r.bits(2)? as u8;
    let mut small = [0; 3];
    for s in &mut small {
        let raw = r.bits(params.rotation_bits)?;
        if raw > 2 * m as u32 {
            return Err(DecodeError::OutOfRange("rotation"));
        }
        *s = raw as i32 - m;
    }
    Ok(QRot { largest, small })
}

/// `predicted + residual`, checked against `lo..=hi`.
fn add(
    r: &mut BitReader,
    predicted: i64,
    k: u32,
    lo: i64,
    hi: i64,
    what: &'static str,
) -> Result<i64, DecodeError> {
    let v = predicted
        .checked_add(r.signed(k)?)
        .filter(|v| (lo..=hi).contains(v))
        .ok_or(DecodeError::OutOfRange(what))?;
    Ok(v)
}

fn velocity3(
    r: &mut BitReader,
    predicted: [i32; 3],
    k: u32,
    limit: u32,
    what: &'static str,
) -> Result<[i32; 3], DecodeError> {
    let l = i64::from(limit);
    let mut out = [0; 3];
    for a in 0..3 {
        out[a] = add(r, i64::from(predicted[a]), k, -l, l, what)? as i32;
    }
    Ok(out)
}

fn delta_ball(
    r: &mut BitReader,
    params: &Params,
    i: usize,
    old: &QBall,
    n: u64,
) -> Result<QBall, DecodeError> {
    if !r.bit()? {
        return Ok(*old);
    }
    let sleeping = r.bit()?;
    let ballistic = r.bit()?;
    let (lin, ang) = predict::velocities(params, i, old, n, ballistic);
    let linvel = velocity3(r, lin, K_LINVEL, params.linvel.limit, "linear velocity")?;
    let angvel = velocity3(r, ang, K_ANGVEL, params.angvel.limit, "angular velocity")?;
    let p = predict::position(params, old.position, old.linvel, linvel, n);
    let mut position = [0; 3];
    for a in 0..3 {
        let hi = i64::from(params.position.steps[a]);
        position[a] = add(r, i64::from(p[a]), K_POSITION, 0, hi, "position")? as u32;
    }
    let largest = if r.bit()? {
        old.rotation.largest
    } else {
        r.bits(2)? as u8
    };
    let q = predict::rotation_small(params, old, angvel, n, largest);
    let m = i64::from(rotation_max(params.rotation_bits));
    let mut small = [0; 3];
    for a in 0..3 {
        small[a] = add(r, i64::from(q[a]), K_ROTATION, -m, m, "rotation")? as i32;
    }
    Ok(QBall {
        sleeping,
        position,
        rotation: QRot { largest, small },
        linvel,
        angvel,
    })
}

fn team(r: &mut BitReader) -> Result<Option<Team>, DecodeError> {
    match r.bits(2)? {
        0 => Ok(None),
        1 => Ok(Some(Team::Blue)),
        2 => Ok(Some(Team::Red)),
        _ => Err(DecodeError::OutOfRange("team")),
    }
}

/// A count followed by ascending ids as gaps. The count is checked against the bits
/// left (each id takes at least one), so garbage cannot make it allocate.
fn ids(r: &mut BitReader) -> Result<Vec<ClientId>, DecodeError> {
    let count = r.exp_golomb(0)?;
    if count > r.remaining() as u64 {
        return Err(DecodeError::Truncated);
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut prev: Option<ClientId> = None;
    for _ in 0..count {
        let gap = r.exp_golomb(0)?;
        let id = match prev {
            None => Some(gap),
            Some(p) => p.checked_add(gap).and_then(|x| x.checked_add(1)),
        }
        .ok_or(DecodeError::OutOfRange("client id"))?;
        out.push(id);
        prev = Some(id);
    }
    Ok(out)
}

fn read_players(
    r: &mut BitReader,
    params: &Params,
    baseline: Option<&[QPlayer]>,
) -> Result<Vec<QPlayer>, DecodeError> {
    let mut players = Vec::new();
    if let Some(old) = baseline {
        let removed = ids(r)?;
        for id in &removed {
            if old.binary_search_by_key(id, |p| p.client).is_err() {
                return Err(DecodeError::UnknownPlayer(*id));
            }
        }
        for o in old {
            if removed.binary_search(&o.client).is_ok() {
                continue;
            }
            if !r.bit()? {
                players.push(*o);
                continue;
            }
            let mut position = [0; 3];
            for (a, slot) in position.iter_mut().enumerate() {
                let hi = i64::from(params.position.steps[a]);
                *slot = add(
                    r,
                    i64::from(o.position[a]),
                    K_PLAYER_POSITION,
                    0,
                    hi,
                    "player position",
                )? as u32;
            }
            players.push(QPlayer {
                client: o.client,
                position,
                rotation: rotation(r, params)?,
                team: team(r)?,
            });
        }
    }
    let added = ids(r)?;
    for client in added {
        let known =
            baseline.is_some_and(|old| old.binary_search_by_key(&client, |p| p.client).is_ok());
        if known {
            return Err(DecodeError::DuplicatePlayer(client));
        }
        players.push(QPlayer {
            client,
            position: position(r, params)?,
            rotation: rotation(r, params)?,
            team: team(r)?,
        });
    }
    players.sort_by_key(|p| p.client);
    Ok(players)
}

fn read_acks(
    r: &mut BitReader,
    baseline: Option<&BTreeMap<ClientId, u64>>,
) -> Result<BTreeMap<ClientId, u64>, DecodeError> {
    let mut acks = baseline.cloned().unwrap_or_default();
    if baseline.is_some() {
        for id in ids(r)? {
            if acks.remove(&id).is_none() {
                return Err(DecodeError::UnknownAck(id));
            }
        }
    }
    for id in ids(r)? {
        acks.insert(id, r.exp_golomb(0)?);
    }
    Ok(acks)
}
