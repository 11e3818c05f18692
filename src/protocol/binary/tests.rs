//! Round trips, error bounds and robustness of the binary snapshot codec.

// Several arrays indexed by the same axis: index loops read best.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::quantize::{position_f64, rotation_f64};
use super::*;
use crate::ids::Team;
use crate::room::{BallState, PlayerState, Snapshot};
use crate::scene::SceneLibrary;

fn params(scene: &str) -> Params {
    Params::for_scene(&SceneLibrary::builtin().get(scene).unwrap(), 60.0)
}

#[test]
fn kickballs_params_are_derived_from_the_scene() {
    let p = params("kickballs");
    // Walls reach x, z ∈ [-1, 17]; y from respawn_below (-20) to the ceiling (21); 1 m
    // margin, whole metres.
    assert_eq!(p.position.min, [-2.0, -21.0, -2.0]);
    assert_eq!(p.position.steps, [20 * 512, 43 * 512, 20 * 512]);
    assert_eq!(
        [0, 1, 2].map(|a| p.position_bits(a)),
        [14, 15, 14],
        "bits per axis"
    );
    // 150 N·s / 5 kg = 30 m/s, plus a fall through 43 m (29 m/s): 64 m/s.
    assert_eq!(
        (p.linvel.max, p.linvel.limit, p.linvel.bits()),
        (64.0, 4096, 14)
    );
    // 2.5 × 64 / 1 m = 160 rad/s: 256 rad/s.
    assert_eq!(
        (p.angvel.max, p.angvel.limit, p.angvel.bits()),
        (256.0, 16384, 16)
    );
    assert_eq!(p.balls.iter().map(|b| b.id).collect::<Vec<_>>(), [0, 1, 2]);
    // 1 / (1 + 0.4 / 60) = 0.993377 × 65536.
    assert_eq!(p.balls[0].linear_decay_q16, 65102);
    // -9.82 (f32) × 64 / 60 × 65536.
    assert_eq!(p.gravity_q16, [0, -686468, 0]);
    assert_eq!(p.max_error.position, 0.0009765625);
    assert!(p.max_error.rotation_degrees <= 0.1);
    assert!(p.max_error.linvel <= 0.01 && p.max_error.angvel <= 0.01);
    // The welcome carries them as JSON.
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Params>(&json).unwrap(), p);
}

/// Angle in degrees between two unit quaternions (q and -q are the same rotation).
fn angle_degrees(a: [f64; 4], b: [f64; 4]) -> f64 {
    let d = |s: f64| {
        (0..4)
            .map(|i| (a[i] - s * b[i]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let chord = d(1.0).min(d(-1.0));
    (4.0 * (chord / 2.0).asin()).to_degrees()
}

fn normalized(q: [f32; 4]) -> [f64; 4] {
    let q = q.map(f64::from);
    let n = q.iter().map(|c| c * c).sum::<f64>().sqrt();
    if !n.is_finite() || n < 1e-15 {
        return [0.0, 0.0, 0.0, 1.0];
    }
    q.map(|c| c / n)
}

/// The rotation bound: with 12 bits the worst case (every component ½, the rounding
/// errors all in the direction that grows the rebuilt largest component's error) stays
/// within the declared bound, which is within 0.1°; with 11 bits it would not be.
#[test]
fn rotation_error_is_bounded_by_the_declared_angle() {
    let p = params("kickballs");
    let bound = p.max_error.rotation_degrees;
    let mut worst: f64 = 0.0;
    let mut check = |q: [f32; 4]| {
        let r = quantize::quantize_rotation(&p, q);
        let err = angle_degrees(normalized(q), rotation_f64(&p, r));
        worst = worst.max(err);
        assert!(err <= bound, "{q:?}: {err}° > {bound}°");
    };
    // A dense sweep around the worst case (all components ±½) and around each axis.
    let k = rotation_scale_f32(&p);
    for i in 0..2000 {
        let t = i as f32 / 2000.0;
        for signs in 0..16u32 {
            let s = |b: u32| if signs & (1 << b) != 0 { -1.0 } else { 1.0 };
            // Offsets of up to one step, to hit every rounding phase.
            let e = t / k;
            check([
                s(0) * (0.5 + e),
                s(1) * (0.5 - e),
                s(2) * (0.5 + e * 0.5),
                s(3) * 0.5,
            ]);
            check([
                s(0) * (0.5 + e),
                s(1) * (0.5 + e),
                s(2) * (0.5 + e),
                s(3) * (0.5 - 3.0 * e),
            ]);
        }
        for axis in 0..4 {
            let mut q = [t * 0.01; 4];
            q[axis] = 1.0;
            check(q);
            q[axis] = -1.0;
            check(q);
        }
    }
    println!("worst rotation error {worst:.5}° (declared {bound}°)");
    // The analytic first-order bound, √6 / M radians, for 11 and 12 bits.
    let deg = |bits: u32| (6f64.sqrt() / f64::from(params::rotation_max(bits))).to_degrees();
    assert!(deg(12) <= 0.1 && deg(11) > 0.1, "{} {}", deg(12), deg(11));
}

fn rotation_scale_f32(p: &Params) -> f32 {
    quantize::rotation_scale(p) as f32
}

// ---- property tests ---------------------------------------------------------------

fn float() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -40.0f32..40.0,
        1 => -0.02f32..0.02,
        1 => any::<f32>(),
        1 => prop::sample::select(vec![
            0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN,
            f32::MIN_POSITIVE, 1e9, -1e9, 63.99, -64.0, 256.0, -300.0, 16.0, -21.0, 22.0,
        ]),
    ]
}

fn quat() -> impl Strategy<Value = [f32; 4]> {
    prop_oneof![
        // Near ±1 on one axis.
        (
            0..4usize,
            any::<bool>(),
            prop::array::uniform4(-0.01f32..0.01)
        )
            .prop_map(|(axis, neg, mut q)| {
                q[axis] = if neg { -1.0 } else { 1.0 };
                q
            }),
        // Near the all-½ corner, with sign flips.
        (
            prop::array::uniform4(any::<bool>()),
            prop::array::uniform4(-0.002f32..0.002)
        )
            .prop_map(|(s, e)| std::array::from_fn(|i| if s[i] { -0.5 } else { 0.5 } + e[i])),
        prop::array::uniform4(-1.0f32..1.0),
        prop::array::uniform4(float()),
    ]
}

fn vec3() -> impl Strategy<Value = [f32; 3]> {
    prop::array::uniform3(float())
}

fn ball(id: u32) -> impl Strategy<Value = BallState> {
    (vec3(), quat(), vec3(), vec3(), any::<bool>()).prop_map(
        move |(position, rotation, linvel, angvel, sleeping)| BallState {
            id,
            position,
            rotation,
            linvel,
            angvel,
            sleeping,
        },
    )
}

fn team() -> impl Strategy<Value = Option<Team>> {
    prop::sample::select(vec![None, Some(Team::Blue), Some(Team::Red)])
}

fn client() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..12, 1 => any::<u64>()]
}

fn snapshot(ids: Vec<u32>) -> impl Strategy<Value = Snapshot> {
    let balls: Vec<_> = ids.into_iter().map(ball).collect();
    (
        balls,
        prop::collection::vec((client(), vec3(), quat(), team()), 0..5),
        prop::collection::btree_map(client(), any::<u64>(), 0..4),
    )
        .prop_map(|(balls, players, acks)| Snapshot {
            tick: 0,
            time: 0.0,
            balls,
            players: players
                .into_iter()
                .map(|(client, position, rotation, team)| PlayerState {
                    client,
                    position,
                    rotation,
                    team,
                })
                .collect(),
            acks,
        })
}

/// A snapshot derived from `base`: some balls untouched, others nudged a little (small
/// residuals) or replaced, players and acks partly kept.
fn successor(base: Snapshot) -> impl Strategy<Value = Snapshot> {
    let ids: Vec<u32> = base.balls.iter().map(|b| b.id).collect();
    (
        Just(base),
        snapshot(ids),
        prop::collection::vec(0..3u8, 3),
        prop::collection::vec(any::<bool>(), 8),
        prop::array::uniform3(-0.05f32..0.05),
    )
        .prop_map(|(base, other, how, keep, nudge)| {
            let mut s = other.clone();
            for (i, b) in s.balls.iter_mut().enumerate() {
                match how[i % how.len()] {
                    0 => *b = base.balls[i].clone(),
                    1 => {
                        *b = base.balls[i].clone();
                        for a in 0..3 {
                            b.position[a] += nudge[a];
                            b.linvel[a] += nudge[a] * 3.0;
                            b.angvel[a] -= nudge[a] * 5.0;
                            b.rotation[a] += nudge[a] * 0.1;
                        }
                    }
                    _ => {}
                }
            }
            if keep[0] {
                s.players = base.players.clone();
            } else if keep[1] {
                s.players = base.players.clone();
                s.players.extend(other.players.iter().take(1).cloned());
                if keep[2] && !s.players.is_empty() {
                    s.players.remove(0);
                }
            }
            if keep[3] {
                s.acks = base.acks.clone();
            } else if keep[4] {
                s.acks = base.acks.clone();
                s.acks.extend(other.acks.iter().take(1));
            }
            s
        })
}

fn scene_and_ticks() -> impl Strategy<Value = (&'static str, u64, u64)> {
    (
        prop::sample::select(vec!["kickballs", "football"]),
        prop_oneof![0u64..100_000, any::<u64>()],
        prop_oneof![4 => 1u64..4, 1 => 1u64..100, 1 => 1u64..1000],
    )
}

/// Every decoded value lies within the declared bound of its clamped input.
fn assert_within_bounds(p: &Params, input: &Snapshot, q: &QuantizedSnapshot) {
    let e = &p.max_error;
    let eps = 1e-9;
    let clamp_pos = |x: f32, a: usize| {
        let lo = p.position.min[a];
        let hi = lo + f64::from(p.position.steps[a]) / f64::from(p.position.resolution);
        let x = f64::from(x);
        if x.is_nan() {
            (lo + hi) / 2.0
        } else {
            x.clamp(lo, hi)
        }
    };
    let check_pos = |x: [f32; 3], got: [u32; 3]| {
        let d = position_f64(p, got);
        for a in 0..3 {
            let want = clamp_pos(x[a], a);
            // NaN goes to the centre step, within half a step of the centre.
            assert!((d[a] - want).abs() <= e.position + eps, "{x:?} → {d:?}");
        }
    };
    let check_vel = |v: [f32; 3], got: [i32; 3], vp: &params::VelocityParams, bound: f64| {
        for a in 0..3 {
            let x = f64::from(v[a]);
            let want = if x.is_nan() {
                0.0
            } else {
                x.clamp(-vp.max, vp.max)
            };
            let d = f64::from(got[a]) / f64::from(vp.resolution);
            assert!((d - want).abs() <= bound + eps, "{v:?} → {got:?}");
        }
    };
    let check_rot = |r: [f32; 4], got: QRot| {
        let err = angle_degrees(normalized(r), rotation_f64(p, got));
        assert!(err <= e.rotation_degrees, "{r:?} → {got:?}: {err}°");
    };
    for (b, qb) in input.balls.iter().zip(&q.balls) {
        check_pos(b.position, qb.position);
        check_rot(b.rotation, qb.rotation);
        check_vel(b.linvel, qb.linvel, &p.linvel, e.linvel);
        check_vel(b.angvel, qb.angvel, &p.angvel, e.angvel);
        assert_eq!(b.sleeping, qb.sleeping);
    }
    for qp in &q.players {
        let ip = input
            .players
            .iter()
            .find(|x| x.client == qp.client)
            .unwrap();
        check_pos(ip.position, qp.position);
        check_rot(ip.rotation, qp.rotation);
        assert_eq!(ip.team, qp.team);
    }
    assert_eq!(input.acks, q.acks);
    // Nothing non-finite comes out.
    let out = q.to_snapshot(p);
    for b in &out.balls {
        assert!(crate::ids::all_finite(
            &[&b.position[..], &b.rotation, &b.linvel, &b.angvel].concat()
        ));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn keyframes_round_trip_within_bounds(
        (scene, tick, _) in scene_and_ticks(),
        seed in snapshot(vec![0]),
        extra in snapshot(vec![0, 1, 2]),
    ) {
        let p = params(scene);
        let mut s = if p.balls.len() == 1 { seed } else { extra };
        s.tick = tick;
        let q = quantize(&p, &s).unwrap();
        assert_within_bounds(&p, &s, &q);
        let bytes = encode(&p, None, &q);
        prop_assert_eq!(decode(&p, None, &bytes).unwrap(), q.clone());
        // A keyframe decodes whatever baseline the client holds.
        prop_assert_eq!(decode(&p, Some(&q), &bytes).unwrap(), q);
    }

    #[test]
    fn deltas_round_trip_within_bounds(
        (base, cur, scene, tick, dt) in (scene_and_ticks(), prop::sample::select(vec![1usize, 3]))
            .prop_flat_map(|((scene, tick, dt), n)| {
                let ids: Vec<u32> = (0..n as u32).collect();
                snapshot(ids).prop_flat_map(move |b| {
                    (Just(b.clone()), successor(b), Just(scene), Just(tick), Just(dt))
                })
            }),
    ) {
        let p = params(scene);
        prop_assume!(base.balls.len() == p.balls.len());
        let mut base = base;
        let mut cur = cur;
        base.tick = tick.min(u64::MAX - dt);
        cur.tick = base.tick + dt;
        let qb = quantize(&p, &base).unwrap();
        let qc = quantize(&p, &cur).unwrap();
        assert_within_bounds(&p, &cur, &qc);
        let bytes = encode(&p, Some(&qb), &qc);
        prop_assert_eq!(header(&bytes).unwrap().baseline_tick, Some(qb.tick));
        prop_assert_eq!(decode(&p, Some(&qb), &bytes).unwrap(), qc.clone());
        // Unchanged balls cost one bit each; the wrong baseline is detected.
        let missing = matches!(decode(&p, None, &bytes), Err(DecodeError::MissingBaseline { .. }));
        prop_assert!(missing);
        let mut wrong = qb.clone();
        wrong.tick = wrong.tick.wrapping_add(1);
        let detected = matches!(decode(&p, Some(&wrong), &bytes), Err(DecodeError::WrongBaseline { .. }));
        prop_assert!(detected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        delta_header in any::<bool>(),
        base in snapshot(vec![0, 1, 2]),
    ) {
        let p = params("kickballs");
        let mut base = quantize(&p, &base).unwrap();
        let mut bytes = bytes;
        if delta_header && bytes.len() > 3 {
            // Make most of them get past the header against this baseline.
            bytes[0] = (FORMAT_VERSION << 4) | (bytes[0] & 0x07) | FLAG_DELTA;
            bytes[1] &= 0x7f;
            bytes[2] = 1.max(bytes[2] & 0x7f).min(bytes[1].max(1));
            base.tick = u64::from(bytes[1]).saturating_sub(u64::from(bytes[2]));
        }
        let _ = decode(&p, Some(&base), &bytes);
        let _ = decode(&p, None, &bytes);
    }

    #[test]
    fn mutated_frames_never_panic(
        s in snapshot(vec![0, 1, 2]),
        t in snapshot(vec![0, 1, 2]),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0..8u8), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let p = params("kickballs");
        let mut s = s;
        let mut t = t;
        s.tick = 100;
        t.tick = 103;
        let qs = quantize(&p, &s).unwrap();
        let qt = quantize(&p, &t).unwrap();
        for baseline in [None, Some(&qs)] {
            let mut bytes = encode(&p, baseline, &qt);
            for (i, bit) in &flips {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            let _ = decode(&p, baseline, &bytes);
            let n = cut.index(bytes.len());
            let _ = decode(&p, baseline, &bytes[..n]);
        }
    }
}

#[test]
fn truncated_and_padded_frames_are_refused() {
    let p = params("kickballs");
    let mut s = crate::room::Room::new(
        SceneLibrary::builtin().get("kickballs").unwrap(),
        Default::default(),
    )
    .snapshot();
    s.tick = 7;
    s.acks = BTreeMap::from([(1, 2)]);
    let q = quantize(&p, &s).unwrap();
    let bytes = encode(&p, None, &q);
    for n in 0..bytes.len() {
        assert!(decode(&p, None, &bytes[..n]).is_err(), "{n}");
    }
    // The largest tick gap there is still round-trips (the prediction caps it).
    let mut far = q.clone();
    far.tick = u64::MAX;
    for b in &mut far.balls {
        b.linvel = [4096, -4096, 17];
        b.angvel = [-16384, 16384, 3];
    }
    let mut base = q.clone();
    base.tick = 0;
    let delta = encode(&p, Some(&base), &far);
    assert_eq!(header(&delta).unwrap().baseline_tick, Some(0));
    assert_eq!(decode(&p, Some(&base), &delta).unwrap(), far);
    assert_eq!(
        decode(&p, Some(&far), &encode(&p, Some(&base), &far)),
        Err(DecodeError::WrongBaseline {
            wanted: 0,
            have: u64::MAX
        })
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode(&p, None, &longer), Err(DecodeError::TrailingBytes));
    let mut v = bytes.clone();
    v[0] = 0x20 | (v[0] & 0x0f);
    assert_eq!(
        decode(&p, None, &v),
        Err(DecodeError::UnsupportedVersion(2))
    );
    v[0] = bytes[0] | FLAG_RESERVED;
    assert_eq!(decode(&p, None, &v), Err(DecodeError::BadFlags(v[0])));
}

/// Not a test of the format: prints, for real `kickballs` trajectories, the residual bits
/// each field would take with Exp-Golomb orders 0 to 4, and with the rotation predicted
/// by the baseline rotation instead of the integrated angular velocity. The orders in
/// `mod.rs` were chosen from its output:
/// `cargo test --lib protocol::binary::tests::residual_survey -- --ignored --nocapture`.
#[test]
#[ignore]
fn residual_survey() {
    use crate::room::{Input, Kick, Room, SimConfig};
    let p = params("kickballs");
    let mut room = Room::new(
        SceneLibrary::builtin().get("kickballs").unwrap(),
        SimConfig::default(),
    );
    let impulses = [
        [[40.0, 15.0, 25.0], [-30.0, 0.0, 45.0], [-45.0, 25.0, -20.0]],
        [[-35.0, 0.0, -30.0], [25.0, 30.0, -40.0], [30.0, 0.0, 35.0]],
    ];
    let mut snaps = Vec::new();
    for t in 0..12 * 60u64 {
        if t % 120 == 0 {
            for ball in 0..3u32 {
                let k = Kick {
                    ball,
                    impulse: impulses[(t / 120) as usize % 2][ball as usize],
                    point: None,
                    seq: None,
                };
                room.apply(10 + u64::from(ball), Input::Kick(k)).unwrap();
            }
        }
        if let Some(s) = room.tick().snapshot {
            snaps.push(quantize(&p, &s).unwrap());
        }
    }
    let eg = |r: i64, k: u32| -> u64 {
        let m = u128::from(bits::zigzag(r)) + (1u128 << k);
        u64::from(2 * (128 - m.leading_zeros()) - k - 1)
    };
    // field → (residuals)
    let mut fields: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for w in snaps.windows(2) {
        let n = w[1].tick - w[0].tick;
        for (i, (o, c)) in w[0].balls.iter().zip(&w[1].balls).enumerate() {
            if o == c {
                continue;
            }
            for (name, ballistic) in [("linvel rolling", false), ("linvel ballistic", true)] {
                let (lin, _) = predict::velocities(&p, i, o, n, ballistic);
                for a in 0..3 {
                    fields
                        .entry(name)
                        .or_default()
                        .push(i64::from(c.linvel[a] - lin[a]));
                }
            }
            let (_, ang) = predict::velocities(&p, i, o, n, false);
            let undamped: Vec<i64> = (0..3)
                .map(|a| i64::from(c.angvel[a] - o.angvel[a]))
                .collect();
            fields
                .entry("angvel undamped")
                .or_default()
                .extend(undamped);
            for a in 0..3 {
                fields
                    .entry("angvel")
                    .or_default()
                    .push(i64::from(c.angvel[a] - ang[a]));
            }
            let pp = predict::position(&p, o.position, o.linvel, c.linvel, n);
            for a in 0..3 {
                fields
                    .entry("position")
                    .or_default()
                    .push(i64::from(c.position[a]) - i64::from(pp[a]));
                fields.entry("position (p0 + v0 dt)").or_default().push(
                    i64::from(c.position[a])
                        - i64::from(predict::position(&p, o.position, o.linvel, o.linvel, n)[a]),
                );
            }
            let q = predict::rotation_small(&p, o, c.angvel, n, c.rotation.largest);
            let q0 =
                quantize::rotation_in_frame(&p, rotation_f64(&p, o.rotation), c.rotation.largest);
            for a in 0..3 {
                fields
                    .entry("rotation")
                    .or_default()
                    .push(i64::from(c.rotation.small[a] - q[a]));
                fields
                    .entry("rotation (baseline)")
                    .or_default()
                    .push(i64::from(c.rotation.small[a] - q0[a]));
            }
        }
    }
    for (name, rs) in &fields {
        let costs: Vec<String> = (0..5)
            .map(|k| {
                format!(
                    "k={k}: {:.2}",
                    rs.iter().map(|&r| eg(r, k)).sum::<u64>() as f64 / rs.len() as f64
                )
            })
            .collect();
        let mean_abs = rs.iter().map(|r| r.abs() as f64).sum::<f64>() / rs.len() as f64;
        println!(
            "{name:24} n={:5} mean|r|={mean_abs:8.2}  bits/component {}",
            rs.len(),
            costs.join("  ")
        );
    }
}
