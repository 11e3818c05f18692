//! Prediction of a ball from its baseline, identical on both ends: integers for
//! velocities and positions, and for the rotation only `+ - × / sqrt` in f64 in a fixed
//! order (IEEE 754 gives JavaScript the same bits). A delta carries the residual
//! `actual - predicted` of every component.
//!
//! With `n` = ticks from the baseline to the snapshot, capped at [`MAX_PREDICTED_TICKS`]:
//!
//! - velocity: `V = v0 × 2^16`; `n` times `V = divr((V + g) × decay, 2^16)` with `g` the
//!   gravity step ([`Params::gravity_q16`]) when the ball's `ballistic` bit is set, else 0;
//!   predicted `divr(V, 2^16)`, clamped to the range. (rapier adds gravity within the
//!   step and damps once per step: `v ← (v + g·dt) / (1 + dt·damping)`.)
//! - position, from the baseline velocity `v0` and the *decoded* velocity `v1`:
//!   `p0 + divr(((n-1)·v0 + (n+1)·v1) × P, 2 × V × T)` per axis (P, V: position and
//!   velocity resolutions, T: [`Params::prediction_rate`]), clamped to `0..=steps`. This is
//!   `dt × Σ v_k` over the `n` ticks with the velocity linear from `v0` to `v1`, exact for
//!   a constant acceleration under rapier's semi-implicit Euler.
//! - rotation: the same weights on the angular velocity give the half-angle vector
//!   `φ = ((n-1)·w0 + (n+1)·w1) × (1 / (4 × W × T))`; `dq = (φ × S(x²), C(x²))` with
//!   `x² = (φx·φx + φy·φy) + φz·φz`, `C` and `S` the Taylor polynomials of `cos x` and
//!   `sin x / x` to `x⁶`, normalised; predicted `q = dq ⊗ q0`, requantized in the frame of
//!   the actual rotation's largest component.
//!
//! `divr(a, b) = floor((2a + b) / (2b))` (b > 0): division rounded half up.

use super::params::{Params, Q16};
use super::quantize::{QBall, rotation_f64, rotation_in_frame};

/// Ticks the prediction looks ahead at most; longer gaps predict as if 255 ticks had
/// passed.
pub const MAX_PREDICTED_TICKS: u64 = 255;

/// Division rounded half up, `b > 0`.
#[inline]
pub(crate) fn divr(a: i64, b: i64) -> i64 {
    (2 * a + b).div_euclid(2 * b)
}

/// `divr(a, 2^16)` as a shift (`>>` on a signed integer is floor division).
#[inline]
fn divr_q16(a: i64) -> i64 {
    (a + (Q16 >> 1)) >> 16
}

pub(crate) fn velocity(v0: i32, decay_q16: i64, gravity_q16: i64, n: u64, limit: u32) -> i32 {
    let mut acc = i64::from(v0) * Q16;
    for _ in 0..n.min(MAX_PREDICTED_TICKS) {
        acc = divr_q16((acc + gravity_q16) * decay_q16);
    }
    let limit = i64::from(limit);
    divr_q16(acc).clamp(-limit, limit) as i32
}

/// Predicted linear and angular velocity of ball `i` (index in `params.balls`).
pub(crate) fn velocities(
    params: &Params,
    i: usize,
    base: &QBall,
    n: u64,
    ballistic: bool,
) -> ([i32; 3], [i32; 3]) {
    (
        linvel(params, i, base, n, ballistic),
        angvel(params, i, base, n),
    )
}

pub(crate) fn linvel(params: &Params, i: usize, base: &QBall, n: u64, ballistic: bool) -> [i32; 3] {
    let decay = params.balls[i].linear_decay_q16;
    std::array::from_fn(|a| {
        let g = if ballistic { params.gravity_q16[a] } else { 0 };
        velocity(base.linvel[a], decay, g, n, params.linvel.limit)
    })
}

pub(crate) fn angvel(params: &Params, i: usize, base: &QBall, n: u64) -> [i32; 3] {
    let decay = params.balls[i].angular_decay_q16;
    std::array::from_fn(|a| velocity(base.angvel[a], decay, 0, n, params.angvel.limit))
}

/// Weighted velocity sum `(n-1)·v0 + (n+1)·v1` per axis.
fn weighted(v0: [i32; 3], v1: [i32; 3], n: u64) -> [i64; 3] {
    let n = n.min(MAX_PREDICTED_TICKS) as i64;
    std::array::from_fn(|a| (n - 1) * i64::from(v0[a]) + (n + 1) * i64::from(v1[a]))
}

pub(crate) fn position(
    params: &Params,
    p0: [u32; 3],
    v0: [i32; 3],
    v1: [i32; 3],
    n: u64,
) -> [u32; 3] {
    let s = weighted(v0, v1, n);
    let num = i64::from(params.position.resolution);
    let den = 2 * i64::from(params.linvel.resolution) * i64::from(params.prediction_rate);
    std::array::from_fn(|a| {
        let p = i64::from(p0[a]) + divr(s[a].saturating_mul(num), den);
        p.clamp(0, i64::from(params.position.steps[a])) as u32
    })
}

/// The predicted rotation as an f64 quaternion `[x, y, z, w]`.
pub(crate) fn rotation(params: &Params, base: &QBall, w1: [i32; 3], n: u64) -> [f64; 4] {
    let s = weighted(base.angvel, w1, n);
    let c = 1.0 / (4.0 * f64::from(params.angvel.resolution) * f64::from(params.prediction_rate));
    let [px, py, pz] = s.map(|v| v as f64 * c);
    let x2 = (px * px + py * py) + pz * pz;
    let cos = 1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0)));
    let sinc = 1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0)));
    let (dx, dy, dz, dw) = (px * sinc, py * sinc, pz * sinc, cos);
    let norm = (((dx * dx + dy * dy) + dz * dz) + dw * dw).sqrt();
    let [x0, y0, z0, w0] = rotation_f64(params, base.rotation);
    if !(norm.is_finite() && norm > 0.0) {
        return [x0, y0, z0, w0];
    }
    let (dx, dy, dz, dw) = (dx / norm, dy / norm, dz / norm, dw / norm);
    [
        dw * x0 + dx * w0 + dy * z0 - dz * y0,
        dw * y0 - dx * z0 + dy * w0 + dz * x0,
        dw * z0 + dx * y0 - dy * x0 + dz * w0,
        dw * w0 - dx * x0 - dy * y0 - dz * z0,
    ]
}

/// The predicted smallest-three components in the frame of `largest`.
pub(crate) fn rotation_small(
    params: &Params,
    base: &QBall,
    w1: [i32; 3],
    n: u64,
    largest: u8,
) -> [i32; 3] {
    rotation_in_frame(params, rotation(params, base, w1, n), largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divr_q16_is_divr_by_65536() {
        for a in [
            0,
            1,
            -1,
            32767,
            32768,
            -32768,
            -32769,
            65536,
            -65536,
            1 << 40,
            -(1 << 40) - 5,
        ] {
            assert_eq!(divr_q16(a), divr(a, Q16), "{a}");
        }
    }

    #[test]
    fn divr_rounds_half_up() {
        assert_eq!(divr(1, 2), 1);
        assert_eq!(divr(-1, 2), 0);
        assert_eq!(divr(-3, 2), -1);
        assert_eq!(divr(5, 3), 2);
        assert_eq!(divr(-5, 3), -2);
        assert_eq!(divr(0, 7), 0);
    }
}
