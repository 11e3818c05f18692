//! The encoder: one frame for a [`QuantizedSnapshot`], a keyframe or a delta against a
//! baseline. The layout is in `docs/PROTOCOL.md` (`## Binary snapshots (ballroom.v2)`).

use std::collections::BTreeMap;

use super::bits::{BitWriter, write_varint, zigzag};
use super::params::{FORMAT_VERSION, Params, rotation_max};
use super::predict;
use super::quantize::{QBall, QPlayer, QRot, QuantizedSnapshot};
use super::{
    FLAG_ACKS, FLAG_DELTA, FLAG_PLAYERS, K_ANGVEL, K_LINVEL, K_PLAYER_POSITION, K_POSITION,
    K_ROTATION,
};
use crate::ids::{ClientId, Team};

/// Encode `current`, as a delta against `baseline` when there is one, else as a keyframe.
///
/// The baseline must be the quantized snapshot the client last received (decoded) from
/// this room. A baseline that is not older than `current`, or whose ball count differs,
/// is ignored and a keyframe is written.
pub fn encode(
    params: &Params,
    baseline: Option<&QuantizedSnapshot>,
    current: &QuantizedSnapshot,
) -> Vec<u8> {
    let baseline =
        baseline.filter(|b| b.tick < current.tick && b.balls.len() == current.balls.len());
    let (players, acks) = match baseline {
        Some(b) => (b.players != current.players, b.acks != current.acks),
        None => (!current.players.is_empty(), !current.acks.is_empty()),
    };
    let mut out = Vec::with_capacity(16 + 24 * current.balls.len() + 12 * current.players.len());
    let mut flags = FORMAT_VERSION << 4;
    if baseline.is_some() {
        flags |= FLAG_DELTA;
    }
    if players {
        flags |= FLAG_PLAYERS;
    }
    if acks {
        flags |= FLAG_ACKS;
    }
    out.push(flags);
    write_varint(&mut out, current.tick);
    if let Some(b) = baseline {
        write_varint(&mut out, current.tick - b.tick);
    }
    let mut w = BitWriter::new(out);
    match baseline {
        None => {
            for ball in &current.balls {
                key_ball(&mut w, params, ball);
            }
        }
        Some(b) => {
            let n = current.tick - b.tick;
            for (i, (old, new)) in b.balls.iter().zip(&current.balls).enumerate() {
                delta_ball(&mut w, params, i, old, new, n);
            }
        }
    }
    if players {
        write_players(
            &mut w,
            params,
            baseline.map(|b| &b.players[..]),
            &current.players,
        );
    }
    if acks {
        write_acks(&mut w, baseline.map(|b| &b.acks), &current.acks);
    }
    w.finish()
}

fn key_ball(w: &mut BitWriter, params: &Params, b: &QBall) {
    let moving = b.linvel != [0; 3] || b.angvel != [0; 3];
    w.bit(b.sleeping);
    w.bit(moving);
    position(w, params, b.position);
    rotation(w, params, b.rotation);
    if moving {
        for (v, p) in [(&b.linvel, &params.linvel), (&b.angvel, &params.angvel)] {
            for &c in v {
                w.bits((c + p.limit as i32) as u32, p.bits());
            }
        }
    }
}

pub(crate) fn position(w: &mut BitWriter, params: &Params, p: [u32; 3]) {
    for (a, &c) in p.iter().enumerate() {
        w.bits(c, params.position_bits(a));
    }
}

pub(crate) fn rotation(w: &mut BitWriter, params: &Params, r: QRot) {
    let m = rotation_max(params.rotation_bits);
    w.bits(u32::from(r.largest), 2);
    for &s in &r.small {
        w.bits((s + m) as u32, params.rotation_bits);
    }
}

/// Bits of the Exp-Golomb code of order `k` for the zigzag of `r`.
fn cost(r: i64, k: u32) -> u32 {
    let m = u128::from(zigzag(r)) + (1u128 << k);
    let len = 128 - m.leading_zeros();
    2 * len - k - 1
}

fn residuals(w: &mut BitWriter, actual: [i64; 3], predicted: [i64; 3], k: u32) {
    for a in 0..3 {
        w.signed(actual[a] - predicted[a], k);
    }
}

fn wide<T: Into<i64> + Copy>(v: [T; 3]) -> [i64; 3] {
    [v[0].into(), v[1].into(), v[2].into()]
}

fn delta_ball(w: &mut BitWriter, params: &Params, i: usize, old: &QBall, new: &QBall, n: u64) {
    if old == new {
        w.bit(false);
        return;
    }
    w.bit(true);
    w.bit(new.sleeping);
    // The encoder picks the cheaper of the two velocity predictions.
    let rolling = predict::linvel(params, i, old, n, false);
    let ballistic = predict::linvel(params, i, old, n, true);
    let lin_cost = |p: [i32; 3]| -> u32 {
        (0..3)
            .map(|a| cost(i64::from(new.linvel[a]) - i64::from(p[a]), K_LINVEL))
            .sum()
    };
    let use_ballistic = lin_cost(ballistic) < lin_cost(rolling);
    let lin = if use_ballistic { ballistic } else { rolling };
    let ang = predict::angvel(params, i, old, n);
    w.bit(use_ballistic);
    residuals(w, wide(new.linvel), wide(lin), K_LINVEL);
    residuals(w, wide(new.angvel), wide(ang), K_ANGVEL);
    let p = predict::position(params, old.position, old.linvel, new.linvel, n);
    residuals(w, wide(new.position), wide(p), K_POSITION);
    let same = new.rotation.largest == old.rotation.largest;
    w.bit(same);
    if !same {
        w.bits(u32::from(new.rotation.largest), 2);
    }
    let q = predict::rotation_small(params, old, new.angvel, n, new.rotation.largest);
    residuals(w, wide(new.rotation.small), wide(q), K_ROTATION);
}

fn team_code(t: Option<Team>) -> u32 {
    match t {
        None => 0,
        Some(Team::Blue) => 1,
        Some(Team::Red) => 2,
    }
}

/// `count` ascending ids as gaps: the first id itself, then `id - previous - 1`.
fn ids(w: &mut BitWriter, count: usize, ids: impl Iterator<Item = ClientId>) {
    w.exp_golomb(count as u64, 0);
    let mut prev: Option<ClientId> = None;
    for id in ids {
        w.exp_golomb(prev.map_or(id, |p| id - p - 1), 0);
        prev = Some(id);
    }
}

fn full_player(w: &mut BitWriter, params: &Params, p: &QPlayer) {
    position(w, params, p.position);
    rotation(w, params, p.rotation);
    w.bits(team_code(p.team), 2);
}

fn write_players(
    w: &mut BitWriter,
    params: &Params,
    baseline: Option<&[QPlayer]>,
    current: &[QPlayer],
) {
    let old = baseline.unwrap_or(&[]);
    // Both lists ascend by id: each section is one merge walk, with no allocation.
    if baseline.is_some() {
        let removed = || {
            merge(old, current).filter_map(|pair| match pair {
                (Some(o), None) => Some(o.client),
                _ => None,
            })
        };
        ids(w, removed().count(), removed());
    }
    for pair in merge(old, current) {
        let (Some(o), Some(p)) = pair else {
            continue;
        };
        if p == o {
            w.bit(false);
            continue;
        }
        w.bit(true);
        residuals(w, wide(p.position), wide(o.position), K_PLAYER_POSITION);
        rotation(w, params, p.rotation);
        w.bits(team_code(p.team), 2);
    }
    let added = || {
        merge(old, current).filter_map(|pair| match pair {
            (None, Some(p)) => Some(p),
            _ => None,
        })
    };
    ids(w, added().count(), added().map(|p| p.client));
    for p in added() {
        full_player(w, params, p);
    }
}

/// The players of two id-ordered lists side by side: `(Some, None)` only in `old`,
/// `(None, Some)` only in `new`, `(Some, Some)` in both.
fn merge<'a>(
    old: &'a [QPlayer],
    new: &'a [QPlayer],
) -> impl Iterator<Item = (Option<&'a QPlayer>, Option<&'a QPlayer>)> {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || match (old.get(i), new.get(j)) {
        (None, None) => None,
        (Some(o), Some(n)) if o.client == n.client => {
            i += 1;
            j += 1;
            Some((Some(o), Some(n)))
        }
        (Some(o), n) if n.is_none_or(|n| o.client < n.client) => {
            i += 1;
            Some((Some(o), None))
        }
        (_, n) => {
            j += 1;
            Some((None, n))
        }
    })
}

fn write_acks(
    w: &mut BitWriter,
    baseline: Option<&BTreeMap<ClientId, u64>>,
    current: &BTreeMap<ClientId, u64>,
) {
    if let Some(old) = baseline {
        let removed = || old.keys().filter(|k| !current.contains_key(k)).copied();
        ids(w, removed().count(), removed());
    }
    let upserts = || {
        current
            .iter()
            .filter(|(k, v)| baseline.is_none_or(|old| old.get(k) != Some(v)))
    };
    ids(w, upserts().count(), upserts().map(|(&k, _)| k));
    for (_, &seq) in upserts() {
        w.exp_golomb(seq, 0);
    }
}
