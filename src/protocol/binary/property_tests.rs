//! Property tests of the binary codec: arbitrary states, extremes included, round-trip
//! within the declared bounds (exactly, against the quantized input), and arbitrary bytes
//! never panic the decoder.
// Per-axis loops over several arrays at once read best indexed.
#![allow(clippy::needless_range_loop)]

use proptest::prelude::*;

use super::quantize::{position_f64, rotation_f64};
use super::tests::{angle_degrees, normalized, params};
use super::*;
use crate::ids::Team;
use crate::room::{BallState, PlayerState, Snapshot};

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

/// The length of a vector given by its components.
fn norm(components: impl Iterator<Item = f64>) -> f64 {
    components.map(|c| c * c).sum::<f64>().sqrt()
}

/// Every decoded value lies within the declared bound of its clamped input (for vectors,
/// the length of the error vector).
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
        // NaN goes to the centre step, within half a step of the centre.
        let err = norm((0..3).map(|a| d[a] - clamp_pos(x[a], a)));
        assert!(err <= e.position + eps, "{x:?} → {d:?}: {err} m");
    };
    let check_vel = |v: [f32; 3], got: [i32; 3], vp: &params::VelocityParams, bound: f64| {
        let err = norm((0..3).map(|a| {
            let x = f64::from(v[a]);
            let want = if x.is_nan() {
                0.0
            } else {
                x.clamp(-vp.max, vp.max)
            };
            f64::from(got[a]) / f64::from(vp.resolution) - want
        }));
        assert!(err <= bound + eps, "{v:?} → {got:?}: {err}");
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
    fn the_quantizer_gives_what_quantize_gives(
        (base, cur) in snapshot(vec![0, 1, 2]).prop_flat_map(|b| (Just(b.clone()), successor(b))),
    ) {
        let p = std::sync::Arc::new(params("kickballs"));
        let mut quantizer = Quantizer::new(p.clone());
        // Fresh, then reusing what the previous snapshot left, in both directions.
        for s in [&base, &cur, &cur, &base] {
            prop_assert_eq!(quantizer.quantize(s).unwrap(), quantize(&p, s).unwrap());
        }
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
