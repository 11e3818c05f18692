//! Quantization: the domain [`Snapshot`] (floats) to [`QuantizedSnapshot`] (integers only)
//! and back. Every component is clamped to its declared range first, so nothing
//! non-finite is ever sent: NaN positions go to the centre of the bounds, NaN velocities
//! to 0, a non-finite or zero-length quaternion to the identity.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::params::{Params, rotation_max};
use crate::ids::{ClientId, Team};
use crate::room::{BallState, PlayerState, Snapshot};

/// A snapshot as the wire carries it: integers only. The encoder quantizes, the decoder
/// rebuilds exactly the same value, and deltas are taken between these, never between
/// floats, so both ends agree bit for bit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantizedSnapshot {
    pub tick: u64,
    /// One per ball of [`Params::balls`], in that order.
    pub balls: Vec<QBall>,
    /// Ascending by client id, ids unique.
    pub players: Vec<QPlayer>,
    pub acks: BTreeMap<ClientId, u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QBall {
    pub sleeping: bool,
    /// `round((p - min) × resolution)`, in `0..=steps`.
    pub position: [u32; 3],
    pub rotation: QRot,
    /// `round(v × resolution)`, in `-limit..=limit`.
    pub linvel: [i32; 3],
    pub angvel: [i32; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QPlayer {
    pub client: ClientId,
    pub position: [u32; 3],
    pub rotation: QRot,
    pub team: Option<Team>,
}

/// A rotation, "smallest three": the index of the component of largest magnitude (made
/// non-negative, and rebuilt as `sqrt(1 - a² - b² - c²)`), and the other three in index
/// order, each `round(c × M × √2)` with `M = 2^(bits-1) - 1`, in `-M..=M`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QRot {
    pub largest: u8,
    pub small: [i32; 3],
}

impl QRot {
    pub const IDENTITY: QRot = QRot {
        largest: 3,
        small: [0; 3],
    };
}

/// A snapshot whose balls are not the scene's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the snapshot's balls {got:?} are not the scene's {expected:?}")]
pub struct QuantizeError {
    pub expected: Vec<u32>,
    pub got: Vec<u32>,
}

/// `floor(x + 0.5)`: the rounding both ends use (JavaScript: `Math.floor(x + 0.5)`).
#[inline]
pub(crate) fn round_half_up(x: f64) -> f64 {
    let y = x + 0.5;
    // `y.floor()` without the libm call that baseline x86-64 (no SSE4.1) makes of it.
    // Every f64 of magnitude ≥ 2^52 is an integer already (and NaN stays NaN).
    if y.abs() < 4_503_599_627_370_496.0 {
        // Truncation, then one less for a negative non-integer: branch-free, because the
        // sign of what is rounded here is anybody's guess and a mispredicted branch costs
        // more than the rest of the quantization of a value.
        let t = y as i64 as f64;
        t - f64::from(u8::from(t > y))
    } else {
        y
    }
}

/// `M × √2`: smallest-three component `c` is sent as `round(c × K)`.
pub(crate) fn rotation_scale(params: &Params) -> f64 {
    // `SQRT_2` is the correctly rounded √2, the same value as `Math.sqrt(2)`.
    f64::from(rotation_max(params.rotation_bits)) * std::f64::consts::SQRT_2
}

/// The snapshot's balls are the scene's, in [`Params::balls`] order.
pub(crate) fn check_balls(params: &Params, snapshot: &Snapshot) -> Result<(), QuantizeError> {
    let ids_match = snapshot.balls.len() == params.balls.len()
        && snapshot
            .balls
            .iter()
            .zip(&params.balls)
            .all(|(b, p)| b.id == p.id);
    if ids_match {
        Ok(())
    } else {
        Err(QuantizeError {
            expected: params.balls.iter().map(|b| b.id).collect(),
            got: snapshot.balls.iter().map(|b| b.id).collect(),
        })
    }
}

pub fn quantize(params: &Params, snapshot: &Snapshot) -> Result<QuantizedSnapshot, QuantizeError> {
    check_balls(params, snapshot)?;
    let mut players: Vec<QPlayer> = snapshot
        .players
        .iter()
        .map(|p| quantize_player(params, p))
        .collect();
    // The room lists its players in id order already; sort only what is not.
    if !players.is_sorted_by_key(|p| p.client) {
        players.sort_by_key(|p| p.client);
    }
    players.dedup_by_key(|p| p.client);
    Ok(QuantizedSnapshot {
        tick: snapshot.tick,
        balls: snapshot
            .balls
            .iter()
            .map(|b| quantize_ball(params, b))
            .collect(),
        players,
        acks: snapshot.acks.clone(),
    })
}

pub fn quantize_ball(params: &Params, b: &BallState) -> QBall {
    QBall {
        sleeping: b.sleeping,
        position: quantize_position(params, b.position),
        rotation: quantize_rotation(params, b.rotation),
        linvel: quantize_velocities(b.linvel, params.linvel.resolution, params.linvel.limit),
        angvel: quantize_velocities(b.angvel, params.angvel.resolution, params.angvel.limit),
    }
}

pub fn quantize_player(params: &Params, p: &PlayerState) -> QPlayer {
    QPlayer {
        client: p.client,
        position: quantize_position(params, p.position),
        rotation: quantize_rotation(params, p.rotation),
        team: p.team,
    }
}

pub fn quantize_position(params: &Params, p: [f32; 3]) -> [u32; 3] {
    let pos = &params.position;
    let res = f64::from(pos.resolution);
    let mut out = [0; 3];
    for a in 0..3 {
        let steps = pos.steps[a];
        let x = f64::from(p[a]);
        out[a] = if x.is_nan() {
            steps / 2
        } else {
            round_half_up(((x - pos.min[a]) * res).clamp(0.0, f64::from(steps))) as u32
        };
    }
    out
}

/// [`quantize_velocity`] of each component (a loop the compiler unrolls, where
/// `[f32; 3]::map` left a call per vector on the hot path).
fn quantize_velocities(v: [f32; 3], resolution: u32, limit: u32) -> [i32; 3] {
    let mut out = [0; 3];
    for (o, &c) in out.iter_mut().zip(&v) {
        *o = quantize_velocity(c, resolution, limit);
    }
    out
}

#[inline]
pub fn quantize_velocity(v: f32, resolution: u32, limit: u32) -> i32 {
    let v = f64::from(v);
    if v.is_nan() {
        return 0;
    }
    let limit = f64::from(limit);
    round_half_up((v * f64::from(resolution)).clamp(-limit, limit)) as i32
}

pub fn quantize_rotation(params: &Params, q: [f32; 4]) -> QRot {
    let q = q.map(f64::from);
    let n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if !n2.is_finite() || n2 < 1e-30 {
        return QRot::IDENTITY;
    }
    // Encoder only (the decoder never normalises floats): one division, then products.
    let inv = 1.0 / n2.sqrt();
    let q = q.map(|c| c * inv);
    let mut largest = 0;
    for i in 1..4 {
        if q[i].abs() > q[largest].abs() {
            largest = i;
        }
    }
    QRot {
        largest: largest as u8,
        small: rotation_in_frame(params, q, largest as u8),
    }
}

/// The three quantized smallest-three components of the unit quaternion `q` (f64) when
/// component `largest` is the one left out: `q` is negated if `q[largest] < 0`, then each
/// other component `c` becomes `floor(c × K + 0.5)` clamped to `-M..=M`. Used for
/// quantization and, identically on both ends, for the predicted rotation.
pub(crate) fn rotation_in_frame(params: &Params, q: [f64; 4], largest: u8) -> [i32; 3] {
    const OTHERS: [[usize; 3]; 4] = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];
    let l = usize::from(largest & 3);
    let [i, j, k] = OTHERS[l];
    let scale = if q[l] < 0.0 {
        -rotation_scale(params)
    } else {
        rotation_scale(params)
    };
    let m = rotation_max(params.rotation_bits);
    // `as i32` saturates and takes NaN to 0.
    let one = |c: f64| (round_half_up(c * scale) as i32).clamp(-m, m);
    [one(q[i]), one(q[j]), one(q[k])]
}

/// The unit quaternion `[x, y, z, w]` of a quantized rotation, in f64: each small
/// component is `s / K`; the largest is `sqrt(max(0, 1 - ((a·a + b·b) + c·c)))`.
pub fn rotation_f64(params: &Params, r: QRot) -> [f64; 4] {
    let k = rotation_scale(params);
    let [a, b, c] = r.small.map(|s| f64::from(s) / k);
    let w = (1.0 - ((a * a + b * b) + c * c)).max(0.0).sqrt();
    let mut q = [0.0; 4];
    let mut j = 0;
    for (i, slot) in q.iter_mut().enumerate() {
        if i == r.largest as usize {
            *slot = w;
        } else {
            *slot = [a, b, c][j];
            j += 1;
        }
    }
    q
}

pub fn position_f64(params: &Params, p: [u32; 3]) -> [f64; 3] {
    let pos = &params.position;
    std::array::from_fn(|i| pos.min[i] + f64::from(p[i]) / f64::from(pos.resolution))
}

impl QuantizedSnapshot {
    /// The domain snapshot these integers stand for (`time = tick / tick_rate`).
    pub fn to_snapshot(&self, params: &Params) -> Snapshot {
        let f = |x: f64| x as f32;
        let lin = f64::from(params.linvel.resolution);
        let ang = f64::from(params.angvel.resolution);
        Snapshot {
            tick: self.tick,
            time: self.tick as f64 / params.tick_rate,
            balls: self
                .balls
                .iter()
                .zip(&params.balls)
                .map(|(b, p)| BallState {
                    id: p.id,
                    position: position_f64(params, b.position).map(f),
                    rotation: rotation_f64(params, b.rotation).map(f),
                    linvel: b.linvel.map(|v| f(f64::from(v) / lin)),
                    angvel: b.angvel.map(|v| f(f64::from(v) / ang)),
                    sleeping: b.sleeping,
                })
                .collect(),
            players: self
                .players
                .iter()
                .map(|p| PlayerState {
                    client: p.client,
                    position: position_f64(params, p.position).map(f),
                    rotation: rotation_f64(params, p.rotation).map(f),
                    team: p.team,
                })
                .collect(),
            acks: self.acks.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::round_half_up;

    #[test]
    fn round_half_up_is_floor_of_x_plus_a_half() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.4999999,
            -2.5000001,
            1e15 + 0.5,
            -1e15,
            4.6e15,
            -4.6e15,
            1e300,
            -1e300,
            4095.5,
            -4095.5,
            0.49999999999999994,
        ] {
            assert_eq!(round_half_up(x), (x + 0.5).floor(), "{x}");
        }
        assert!(round_half_up(f64::NAN).is_nan());
        assert_eq!(round_half_up(f64::INFINITY), f64::INFINITY);
        assert_eq!(round_half_up(f64::NEG_INFINITY), f64::NEG_INFINITY);
    }
}
