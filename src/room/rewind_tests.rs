//! Lag compensation: a kick is judged where the kicker's client showed the ball
//! (`Kick::seen_at`), at most `MAX_REWIND` back.

use super::*;
use crate::scene::SceneLibrary;

/// Kickballs; player 1 stands 2 m from ball 1's surface (reach 2.5 m) and client 2
/// (no position: kickballs does not ask for one) kicks ball 1 away from the player at
/// 6 m/s. Returns the room and the tick the kick was applied on.
fn ball_leaving_the_player() -> (Room, u64) {
    let mut r = Room::new(
        SceneLibrary::builtin().get("kickballs").unwrap(),
        SimConfig::default(),
    );
    // Ball 1 rests at (8, 1, 8), radius 1.
    r.apply(
        1,
        Input::Pose {
            position: [8.0, 0.0, 11.0],
            rotation: [0.0, 0.0, 0.0, 1.0],
        },
    )
    .unwrap();
    r.tick();
    r.apply(2, Input::Kick(kick(None))).unwrap();
    r.tick();
    let kicked = r.tick_count();
    (r, kicked)
}

fn kick(seen_at: Option<f64>) -> Kick {
    Kick {
        ball: 1,
        impulse: [0.0, 0.0, -30.0],
        point: None,
        seq: None,
        seen_at,
        tick: None,
    }
}

fn ticks(r: &mut Room, n: u64) {
    for _ in 0..n {
        r.tick();
    }
}

#[test]
fn an_honest_kick_at_150_ms_rtt_is_judged_where_the_kicker_saw_the_ball() {
    let (mut r, kicked) = ball_leaving_the_player();
    // 250 ms later the ball is out of reach; the kicker's client, rendering 100 ms in
    // the past and 75 ms away, showed it on the tick it was kicked: within reach.
    ticks(&mut r, 15);
    let seen = kicked as f64 / 60.0;
    let late = r.apply(1, Input::Kick(kick(None))).unwrap_err();
    assert!(matches!(late, Refusal::TooFar { .. }), "{late:?}");
    r.apply(1, Input::Kick(kick(Some(seen)))).unwrap();
}

#[test]
fn a_kick_beyond_reach_in_every_recent_position_is_still_too_far() {
    let (mut r, kicked) = ball_leaving_the_player();
    // 750 ms later: the ball was within reach only further back than 500 ms.
    ticks(&mut r, 45);
    for seen in [kicked as f64 / 60.0, 0.0, -1e9, f64::MAX, f64::NAN] {
        let e = r.apply(1, Input::Kick(kick(Some(seen)))).unwrap_err();
        assert!(
            matches!(e, Refusal::TooFar { distance, .. } if distance > 2.5),
            "seen_at {seen}: {e:?}"
        );
    }
}

#[test]
fn a_kick_from_the_future_is_judged_now() {
    let (mut r, _) = ball_leaving_the_player();
    ticks(&mut r, 15);
    let e = r
        .apply(1, Input::Kick(kick(Some(r.time() + 1.0))))
        .unwrap_err();
    assert!(matches!(e, Refusal::TooFar { .. }), "{e:?}");
}
