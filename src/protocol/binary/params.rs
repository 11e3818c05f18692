//! [`Params`]: everything a decoder needs besides the bytes, derived from the scene and
//! the tick rate by one pure function, [`Params::for_scene`]. Serializable, so the
//! `welcome` of a `ballroom.v2` client can carry it.

use serde::{Deserialize, Serialize};

use super::bits::bits_for;
use crate::ids::BallId;
use crate::scene::{Scene, Shape};

/// The binary snapshot format this code writes (the high nibble of every frame's first
/// byte).
pub const FORMAT_VERSION: u8 = 1;

/// Position steps per metre: the grid is 1/1024 m, so each component is off by at most
/// 1/2048 m and the position (as a vector) by at most √3/2048 m = 0.85 mm < 1 mm.
pub const POSITION_RESOLUTION: u32 = 1024;
/// Linear velocity steps per m/s: each component off by ≤ 1/256 m/s, the vector by ≤
/// √3/256 m/s = 0.68 cm/s < 1 cm/s.
pub const LINVEL_RESOLUTION: u32 = 128;
/// Angular velocity steps per rad/s: the vector off by ≤ √3/256 rad/s < 0.01 rad/s.
pub const ANGVEL_RESOLUTION: u32 = 128;
/// Bits of each of the three smallest quaternion components.
pub const ROTATION_BITS: u32 = 12;
/// Metres added around the scene's extents before rounding the bounds out to whole metres.
pub const POSITION_MARGIN: f64 = 1.0;
/// Most position steps per axis (2^30 steps = 2,097,152 m); a bigger scene is cut to this
/// around its centre.
pub const MAX_POSITION_STEPS: u64 = 1 << 30;
/// Fixed-point scale of the decay factors and the gravity step.
pub const Q16: i64 = 1 << 16;

/// Quantization and prediction parameters of one room's binary snapshots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// [`FORMAT_VERSION`].
    pub format: u8,
    /// Ticks per second: `time = tick / tick_rate`.
    pub tick_rate: f64,
    /// `round(tick_rate)`, at least 1: the integer the position prediction divides by.
    pub prediction_rate: u32,
    pub position: PositionParams,
    /// Bits per smallest-three component ([`ROTATION_BITS`]).
    pub rotation_bits: u32,
    pub linvel: VelocityParams,
    pub angvel: VelocityParams,
    /// Gravity per tick in linear-velocity steps, times 2^16, per axis:
    /// `round(gravity[i] × linvel.resolution / tick_rate × 65536)`.
    pub gravity_q16: [i64; 3],
    /// One entry per ball, in the order the balls are sent (ascending id).
    pub balls: Vec<BallParams>,
    /// The largest error of a decoded value against its clamped input.
    pub max_error: ErrorBounds,
}

/// The position grid: `value = min + q / resolution`, `q` in `0..=steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PositionParams {
    /// Lower corner of the bounds, whole metres.
    pub min: [f64; 3],
    /// Steps per metre ([`POSITION_RESOLUTION`]).
    pub resolution: u32,
    /// Largest `q` per axis: the upper corner is `min + steps / resolution`.
    pub steps: [u32; 3],
}

/// A velocity grid: `value = q / resolution`, `q` in `-limit..=limit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VelocityParams {
    /// Steps per m/s or per rad/s.
    pub resolution: u32,
    /// Largest magnitude per component (m/s or rad/s), a power of two.
    pub max: f64,
    /// `max × resolution`.
    pub limit: u32,
}

/// What the prediction needs to know of one ball.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallParams {
    pub id: BallId,
    /// rapier's per-tick velocity factor `1 / (1 + dt × linear_damping)` (f32), times 2^16,
    /// rounded.
    pub linear_decay_q16: i64,
    /// The same for `angular_damping`.
    pub angular_decay_q16: i64,
}

/// Declared error bounds (each per component, against the input clamped to its range).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBounds {
    /// Metres, the length of the position error vector: `√3 / 2` position steps.
    pub position: f64,
    /// Degrees: the rotation angle between the sent and the decoded orientation.
    pub rotation_degrees: f64,
    /// m/s, the length of the linear velocity error vector: `√3 / 2` steps.
    pub linvel: f64,
    /// rad/s, the length of the angular velocity error vector: `√3 / 2` steps.
    pub angvel: f64,
}

impl Params {
    /// The parameters of `scene` at `tick_rate` ticks per second. Pure: the same scene and
    /// rate give the same parameters on every server.
    pub fn for_scene(scene: &Scene, tick_rate: f64) -> Params {
        let tick_rate = if tick_rate.is_finite() && tick_rate > 0.0 {
            tick_rate
        } else {
            60.0
        };
        let (lo, hi) = scene_bounds(scene);
        let mut min = [0.0; 3];
        let mut steps = [0u32; 3];
        for i in 0..3 {
            let a = (lo[i] - POSITION_MARGIN).floor();
            let b = (hi[i] + POSITION_MARGIN).ceil();
            let mut n = ((b - a) * f64::from(POSITION_RESOLUTION)) as u64;
            let mut a = a;
            if n > MAX_POSITION_STEPS {
                let centre = ((a + b) / 2.0).floor();
                let half = (MAX_POSITION_STEPS / u64::from(POSITION_RESOLUTION) / 2) as f64;
                a = centre - half;
                n = MAX_POSITION_STEPS;
            }
            min[i] = a;
            steps[i] = n as u32;
        }

        let min_mass = scene
            .balls
            .iter()
            .map(|b| f64::from(b.mass))
            .fold(f64::INFINITY, f64::min);
        let min_mass = if min_mass.is_finite() { min_mass } else { 1.0 };
        let min_radius = scene
            .balls
            .iter()
            .map(|b| f64::from(b.radius))
            .fold(f64::INFINITY, f64::min);
        let min_radius = if min_radius.is_finite() {
            min_radius
        } else {
            1.0
        };
        let g = scene.gravity.map(f64::from);
        let g_len = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
        let height = f64::from(steps[1]) / f64::from(POSITION_RESOLUTION);
        // One full kick plus a fall through the whole height of the bounds.
        let v_max =
            pow2_ceil(f64::from(scene.max_impulse) / min_mass + (2.0 * g_len * height).sqrt());
        // A kick at the surface of a solid ball spins it at up to 2.5 × v / r.
        let w_max = pow2_ceil(2.5 * v_max / min_radius);

        let dt = (1.0 / tick_rate) as f32;
        let decay = |damping: f32| -> i64 {
            let d = 1.0f32 / (1.0 + dt * damping);
            (f64::from(d) * Q16 as f64).round() as i64
        };
        let mut balls: Vec<BallParams> = scene
            .balls
            .iter()
            .map(|b| BallParams {
                id: b.id,
                linear_decay_q16: decay(b.linear_damping),
                angular_decay_q16: decay(b.angular_damping),
            })
            .collect();
        balls.sort_by_key(|b| b.id);

        let m = f64::from(rotation_max(ROTATION_BITS));
        Params {
            format: FORMAT_VERSION,
            tick_rate,
            prediction_rate: (tick_rate.round() as u32).max(1),
            position: PositionParams {
                min,
                resolution: POSITION_RESOLUTION,
                steps,
            },
            rotation_bits: ROTATION_BITS,
            linvel: velocity(v_max, LINVEL_RESOLUTION),
            angvel: velocity(w_max, ANGVEL_RESOLUTION),
            gravity_q16: g.map(|gi| {
                (gi * f64::from(LINVEL_RESOLUTION) / tick_rate * Q16 as f64).round() as i64
            }),
            balls,
            max_error: ErrorBounds {
                position: vector_bound(POSITION_RESOLUTION),
                // First-order bound √6 / M radians (see the tests), rounded up.
                rotation_degrees: ((6f64.sqrt() / m).to_degrees() * 1000.0).ceil() / 1000.0,
                linvel: vector_bound(LINVEL_RESOLUTION),
                angvel: vector_bound(ANGVEL_RESOLUTION),
            },
        }
    }

    /// Bits of a position axis in a keyframe.
    pub(crate) fn position_bits(&self, axis: usize) -> u32 {
        bits_for(u64::from(self.position.steps[axis]))
    }
}

impl VelocityParams {
    /// Bits of one component in a keyframe (`q + limit` in `0..=2 × limit`).
    pub(crate) fn bits(&self) -> u32 {
        bits_for(2 * u64::from(self.limit))
    }
}

/// Largest magnitude of a smallest-three component: `2^(bits-1) - 1`.
pub(crate) fn rotation_max(bits: u32) -> i32 {
    (1i32 << (bits - 1)) - 1
}

/// The length of the error vector when each of three components is off by at most half a
/// step of `1 / resolution`: `√3 / (2 × resolution)`, rounded up in the 12th decimal so the
/// JSON carries a bound the exact value never exceeds.
fn vector_bound(resolution: u32) -> f64 {
    (3f64.sqrt() / (2.0 * f64::from(resolution)) * 1e12).ceil() / 1e12
}

fn velocity(max: f64, resolution: u32) -> VelocityParams {
    VelocityParams {
        resolution,
        max,
        limit: (max * f64::from(resolution)) as u32,
    }
}

/// The smallest power of two ≥ `x` (at least 1, at most 2^16).
fn pow2_ceil(x: f64) -> f64 {
    let mut p = 1.0;
    while p < x && p < 65536.0 {
        p *= 2.0;
    }
    p
}

/// Axis-aligned bounds of every static collider, every model's colliders, every ball at its
/// spawn point and the respawn height.
fn scene_bounds(scene: &Scene) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    let mut add = |centre: [f32; 3], half: [f64; 3]| {
        for i in 0..3 {
            lo[i] = lo[i].min(f64::from(centre[i]) - half[i]);
            hi[i] = hi[i].max(f64::from(centre[i]) + half[i]);
        }
    };
    for s in &scene.statics {
        let local = match s.shape {
            Shape::Cuboid { half_extents } => half_extents.map(f64::from),
            Shape::Ball { radius } => [f64::from(radius); 3],
            Shape::Capsule {
                half_height,
                radius,
            } => {
                let r = f64::from(radius);
                [r, f64::from(half_height) + r, r]
            }
            Shape::Cylinder {
                half_height,
                radius,
            } => {
                let r = f64::from(radius);
                [r, f64::from(half_height), r]
            }
        };
        add(s.position, rotated_extents(s.rotation, local));
    }
    // A model's colliders, by the box the server recorded when it loaded the model.
    for [lo, hi] in scene.models.iter().filter_map(|m| m.bounds) {
        let centre = std::array::from_fn(|i| (lo[i] + hi[i]) / 2.0);
        add(
            centre,
            std::array::from_fn(|i| f64::from(hi[i] - lo[i]) / 2.0),
        );
    }
    for b in &scene.balls {
        add(b.position, [f64::from(b.radius); 3]);
    }
    if lo[0].is_infinite() {
        lo = [0.0; 3];
        hi = [0.0; 3];
    }
    lo[1] = lo[1].min(f64::from(scene.respawn_below));
    (lo, hi)
}

/// Half extents of the axis-aligned box around a box of half extents `h` rotated by `q`.
fn rotated_extents(q: [f32; 4], h: [f64; 3]) -> [f64; 3] {
    let [x, y, z, w] = q.map(f64::from);
    let n = (x * x + y * y + z * z + w * w).sqrt();
    let (x, y, z, w) = (x / n, y / n, z / n, w / n);
    let r = [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - z * w),
            2.0 * (x * z + y * w),
        ],
        [
            2.0 * (x * y + z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - x * w),
        ],
        [
            2.0 * (x * z - y * w),
            2.0 * (y * z + x * w),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ];
    std::array::from_fn(|i| (0..3).map(|j| r[i][j].abs() * h[j]).sum())
}
