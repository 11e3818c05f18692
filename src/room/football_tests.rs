//! The built-in football match (`assets/rules/football.js`) in a room, driven directly: a
//! goal through the goal-mouth sensor, the kick-off, and a room at rest waking for the
//! rules' ticks.

use super::tests::{ball, kick, on_team, room, settle, stand, ticks};
use super::*;

/// The football rules' state now.
fn football(r: &Room) -> serde_json::Value {
    serde_json::from_str(&r.rules_state().expect("a room with rules")).unwrap()
}

#[test]
fn a_football_goal_is_detected_by_the_sensor_and_the_ball_comes_back() {
    let mut r = room("football");
    on_team(&mut r, 1, Some(Team::Blue));
    on_team(&mut r, 2, Some(Team::Red));
    ticks(&mut r, 3 * 60 + 6); // 3, 2, 1, go (the rules look every sixth tick)
    assert_eq!(football(&r)["phase"], "playing");
    // Red stands behind the ball and shoots at the goal blue defends (x < 0).
    stand(&mut r, 2, [0.9, 0.0, 0.0]).unwrap();
    kick(&mut r, 2, 0, [-25.0, 0.0, 0.0], None, None).unwrap();
    let mut sensors = Vec::new();
    let events: Vec<Announcement> = (0..3 * 60)
        .flat_map(|_| {
            let out = r.tick();
            sensors.extend(out.sensors);
            out.announcements
        })
        .collect();
    // The goal mouth is a sensor like any other: the rules saw the ball enter it.
    let entered = sensors.iter().find(|e| e.entered).expect("a sensor event");
    assert_eq!((&*entered.sensor, entered.ball), ("goal_blue", 0));
    let goal: serde_json::Value = events
        .iter()
        .find_map(|e| match e {
            Announcement::RulesMessage { name, data, .. } if name == "goal" => {
                Some(serde_json::from_str(data).unwrap())
            }
            _ => None,
        })
        .expect("the sensor saw the ball cross the line");
    assert_eq!(
        (&goal["team"], &goal["scorer"], &goal["score"]["red"]),
        (
            &serde_json::json!("red"),
            &serde_json::json!(2),
            &serde_json::json!(1)
        )
    );
    // After the pause the ball is back at the centre and blue kicks off.
    assert_eq!(football(&r)["kickoff"], "blue");
    let p = ball(&r.snapshot(), 0).position;
    assert!(
        p[0].abs() < 0.1 && p[2].abs() < 0.1,
        "ball at kick-off: {p:?}"
    );
    stand(&mut r, 2, [0.9, 0.0, 0.0]).unwrap();
    assert_eq!(
        kick(&mut r, 2, 0, [-5.0, 0.0, 0.0], None, None).unwrap_err(),
        Refusal::RefusedByRules("not_your_kickoff".into())
    );
}

#[test]
fn a_room_at_rest_wakes_for_its_rules_on_tick_and_a_match_keeps_its_clock() {
    let mut r = room("football");
    settle(&mut r);
    // Waiting for players: at rest, due again at the rules' next look (every 6th tick).
    on_team(&mut r, 1, Some(Team::Blue));
    assert!(
        !r.is_at_rest(),
        "what the rules said goes out with the next tick"
    );
    r.tick();
    assert!(r.is_at_rest());
    let due = r.next_due_tick();
    assert!(due > r.tick_count() && due.is_multiple_of(6), "{due}");
    // Both teams: the countdown runs on the rules' ticks; sleeping between them is fine.
    on_team(&mut r, 2, Some(Team::Red));
    assert_eq!(football(&r)["phase"], "countdown");
    // (The countdown put the ball back at the centre, awake: it settles first.)
    let (mut ran, mut skipped) = (0, 0);
    while football(&r)["phase"] == "countdown" {
        if r.is_at_rest() {
            let ahead = r.next_due_tick() - r.tick_count();
            assert!(ahead <= 6);
            assert!(r.skip(ahead - 1));
            skipped += ahead - 1;
        }
        r.tick();
        ran += 1;
    }
    assert_eq!(football(&r)["phase"], "playing");
    assert!(
        skipped > 60,
        "{ran} ticks run, {skipped} skipped in a 3 s countdown"
    );
    // A team empties: paused.
    r.apply(2, Input::Leave).unwrap();
    assert_eq!(football(&r)["phase"], "paused");
    // A pose is a change until the next snapshot carries it.
    stand(&mut r, 1, [3.0, 0.0, 3.0]).unwrap();
    assert!(!r.is_at_rest());
    let tick = r.tick_count();
    assert!(!r.skip(100), "skip refuses a room not at rest");
    assert_eq!(r.tick_count(), tick);
    while r.tick().snapshot.is_none() {}
    r.tick();
    assert!(r.is_at_rest());
}
