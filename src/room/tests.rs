//! The room driven directly: kicks, snapshots, players, goals and the referee.

use super::*;
use crate::scene::SceneLibrary;

pub(super) fn room(scene: &str) -> Room {
    Room::new(
        SceneLibrary::builtin().get(scene).unwrap(),
        SimConfig::default(),
    )
}

pub(super) fn ball(snap: &Snapshot, id: BallId) -> &BallState {
    snap.balls.iter().find(|b| b.id == id).unwrap()
}

pub(super) fn kick(
    r: &mut Room,
    client: ClientId,
    ball: BallId,
    impulse: [f32; 3],
    point: Option<[f32; 3]>,
    seq: Option<u64>,
) -> Result<Effects, Refusal> {
    r.apply(
        client,
        Input::Kick(Kick {
            ball,
            impulse,
            point,
            seq,
            seen_at: None,
            tick: None,
        }),
    )
}

pub(super) fn stand(
    r: &mut Room,
    client: ClientId,
    position: [f32; 3],
) -> Result<Effects, Refusal> {
    r.apply(
        client,
        Input::Pose {
            position,
            rotation: [0.0, 0.0, 0.0, 1.0],
        },
    )
}

fn kicks(effects: &Effects) -> Vec<&KickApplied> {
    effects
        .announcements
        .iter()
        .filter_map(|a| match a {
            Announcement::Kick(k) => Some(k),
            _ => None,
        })
        .collect()
}

/// Tick until every ball sleeps; returns the ticks it took.
pub(super) fn settle(room: &mut Room) -> u64 {
    for n in 1..=60 * 30 {
        room.tick();
        if room.is_at_rest() {
            return n;
        }
    }
    panic!("balls never fell asleep");
}

#[test]
fn a_kick_moves_the_ball_along_the_impulse_on_the_next_tick() {
    let mut r = room("kickballs");
    settle(&mut r);
    let before = r.snapshot();
    kick(&mut r, 9, 1, [50.0, 0.0, 0.0], None, Some(4)).unwrap();
    let out = r.tick();
    assert!(out.stepped);
    let applied = kicks(&out);
    assert_eq!(applied.len(), 1);
    assert_eq!(
        (applied[0].client, applied[0].ball, applied[0].seq),
        (9, 1, Some(4))
    );
    let snap = out.snapshot.expect("a snapshot on the kick tick");
    assert_eq!(snap.acks.get(&9), Some(&4));
    // impulse / mass = 10 m/s, less a little damping and friction.
    let v = ball(&snap, 1).linvel;
    assert!(v[0] > 9.0 && v[0] <= 10.0, "{v:?}");
    assert!(v[2].abs() < 0.1, "{v:?}");
    for _ in 0..30 {
        r.tick();
    }
    let p0 = ball(&before, 1).position;
    let p1 = ball(&r.snapshot(), 1).position;
    // Rolling friction turns some of it into spin; it still travels well over 2 m.
    assert!(p1[0] - p0[0] > 2.0, "moved along +x: {p0:?} -> {p1:?}");
    // Untouched balls did not move.
    assert_eq!(ball(&before, 0).position, ball(&r.snapshot(), 0).position);
}

#[test]
fn kicks_are_validated() {
    let mut r = room("kickballs");
    assert_eq!(
        kick(&mut r, 1, 7, [1.0, 0.0, 0.0], None, None).unwrap_err(),
        Refusal::UnknownBall(7)
    );
    let e = kick(&mut r, 1, 0, [151.0, 0.0, 0.0], None, None).unwrap_err();
    assert!(matches!(e, Refusal::ImpulseTooLarge { .. }), "{e:?}");
    // The kick scene's own kicks (forward vector × 100) are accepted.
    kick(&mut r, 1, 0, [0.0, 60.0, 80.0], Some([4.0, 1.0, 8.0]), None).unwrap();
    let e = kick(&mut r, 1, 0, [1.0, 0.0, 0.0], Some([10.0, 1.0, 8.0]), None).unwrap_err();
    assert!(matches!(e, Refusal::PointTooFar { .. }), "{e:?}");
    let mut relay = room("relay");
    assert_eq!(
        kick(&mut relay, 1, 0, [1.0, 0.0, 0.0], None, None).unwrap_err(),
        Refusal::NoPhysics("relay".into())
    );
}

#[test]
fn snapshots_follow_the_rate_and_go_quiet_at_rest() {
    let mut r = room("kickballs");
    // Moving: every third tick at 60 Hz / 20 Hz.
    let ticks: Vec<u64> = (0..12)
        .filter_map(|_| r.tick().snapshot.map(|s| s.tick))
        .collect();
    assert_eq!(ticks, [1, 4, 7, 10]);
    settle(&mut r);
    // Make sure the at-rest snapshot has gone out, then count over 5 s.
    for _ in 0..120 {
        r.tick();
    }
    let mut sent = 0;
    let mut stepped = 0;
    for _ in 0..300 {
        let out = r.tick();
        sent += out.snapshot.is_some() as u32;
        stepped += out.stepped as u32;
        if let Some(s) = out.snapshot {
            assert!(s.balls.iter().all(|b| b.sleeping));
        }
    }
    assert!(sent <= 5, "{sent} snapshots in 5 s at rest");
    assert!(sent >= 4, "a heartbeat about once a second, got {sent}");
    assert_eq!(stepped, 0, "a room at rest does not step");
    // A kick wakes it and is visible on the same tick.
    kick(&mut r, 1, 0, [0.0, 0.0, 20.0], None, None).unwrap();
    let out = r.tick();
    let snap = out.snapshot.unwrap();
    assert!(!ball(&snap, 0).sleeping);
}

#[test]
fn a_player_capsule_stops_a_ball() {
    let mut r = room("kickballs");
    settle(&mut r);
    // Stand between ball 1 (x = 8) and the east wall, then kick the ball at the player.
    stand(&mut r, 5, [10.5, 0.0, 8.0]).unwrap();
    kick(&mut r, 1, 1, [40.0, 0.0, 0.0], None, None).unwrap();
    for _ in 0..60 {
        r.tick();
    }
    let x = ball(&r.snapshot(), 1).position[0];
    assert!(x < 10.5, "ball passed through the player: x = {x}");
    // Gone player, free path.
    r.apply(5, Input::Leave).unwrap();
    kick(&mut r, 1, 1, [40.0, 0.0, 0.0], None, None).unwrap();
    for _ in 0..60 {
        r.tick();
    }
    let x2 = ball(&r.snapshot(), 1).position[0];
    assert!(
        x2 > 10.5,
        "ball still blocked after the player left: {x} -> {x2}"
    );
}

#[test]
fn walls_hold_a_hard_kick_and_fallen_balls_respawn() {
    let mut r = room("kickballs");
    kick(&mut r, 1, 2, [150.0, 0.0, 0.0], None, None).unwrap();
    for _ in 0..120 {
        r.tick();
        let p = ball(&r.snapshot(), 2).position;
        assert!((0.0..=16.0).contains(&p[0]), "tunnelled: {p:?}");
    }
}

pub(super) fn ticks(r: &mut Room, n: u32) -> Vec<Announcement> {
    (0..n).flat_map(|_| r.tick().announcements).collect()
}

#[test]
fn kick_validation_rules() {
    let mut r = room("football");
    on_team(&mut r, 1, Some(Team::Blue));
    // Football requires a reported position.
    let try_kick = |r: &mut Room, c| kick(r, c, 0, [1.0, 0.0, 0.0], None, None);
    assert_eq!(try_kick(&mut r, 1).unwrap_err(), Refusal::NoPosition);
    // A client on no team passes the referee, and the rules refuse it.
    on_team(&mut r, 9, None);
    stand(&mut r, 9, [0.0, 0.0, -2.8]).unwrap();
    assert_eq!(
        try_kick(&mut r, 9).unwrap_err(),
        Refusal::RefusedByRules("spectator".into())
    );
    // Far from the ball (at the origin, radius 0.5): too far.
    stand(&mut r, 1, [0.0, 0.0, 6.0]).unwrap();
    assert!(matches!(try_kick(&mut r, 1), Err(Refusal::TooFar { .. })));
    // Walking closer at a sane speed is fine; 2 m from the surface is within reach.
    ticks(&mut r, 30);
    stand(&mut r, 1, [0.0, 0.0, 2.8]).unwrap();
    try_kick(&mut r, 1).unwrap();
    // Rapid fire: the burst of 3 is spent after two more; the next is refused.
    try_kick(&mut r, 1).unwrap();
    try_kick(&mut r, 1).unwrap();
    assert!(matches!(
        try_kick(&mut r, 1),
        Err(Refusal::RateLimited { .. })
    ));
    // 5 per second: one more token after 12 ticks.
    ticks(&mut r, 12);
    stand(&mut r, 1, [0.0, 0.0, 2.8]).unwrap();
    try_kick(&mut r, 1).unwrap();
    // Teleporting next to the ball from 30 m away is refused and changes nothing.
    stand(&mut r, 1, [30.0, 0.0, 0.0]).unwrap_err();
    ticks(&mut r, 60);
    stand(&mut r, 1, [20.0, 0.0, 0.0]).unwrap();
    let err = stand(&mut r, 1, [0.5, 0.0, 0.5]).unwrap_err();
    assert!(matches!(err, Refusal::Teleport { .. }), "{err:?}");
    assert!(
        matches!(try_kick(&mut r, 1), Err(Refusal::TooFar { .. })),
        "the fake position was not taken"
    );
    // Kickballs plays without teams, and without positions.
    let mut k = room("kickballs");
    kick(&mut k, 1, 0, [1.0, 0.0, 0.0], None, None).unwrap();
    assert_eq!(
        k.apply(1, Input::JoinTeam(Some(Team::Red))).unwrap_err(),
        Refusal::NoRules("kickballs".into())
    );
}

#[test]
fn snapshots_carry_every_posed_player_and_follow_moving_players_at_rest() {
    let mut r = room("football");
    on_team(&mut r, 2, Some(Team::Red));
    stand(&mut r, 2, [3.0, 0.0, 1.0]).unwrap();
    r.apply(
        1,
        Input::Pose {
            position: [-3.0, 0.0, 1.0],
            rotation: [0.0, 0.6, 0.0, 0.8],
        },
    )
    .unwrap();
    let snap = r.snapshot();
    let players: Vec<_> = snap
        .players
        .iter()
        .map(|p| (p.client, p.position, p.team))
        .collect();
    assert_eq!(
        players,
        [
            (1, [-3.0, 0.0, 1.0], None),
            (2, [3.0, 0.0, 1.0], Some(Team::Red))
        ]
    );
    assert_eq!(snap.players[0].rotation, [0.0, 0.6, 0.0, 0.8]);
    // At rest, a walking player still gets the room snapshots at the snapshot rate.
    settle(&mut r);
    for _ in 0..120 {
        r.tick();
    }
    let mut sent = 0;
    for step in 0..60 {
        let x = 3.0 + step as f32 * 0.05;
        stand(&mut r, 2, [x, 0.0, 1.0]).unwrap();
        sent += r.tick().snapshot.is_some() as u32;
    }
    assert_eq!(sent, 20, "every third tick while a player walks");
    // Gone players leave the snapshot.
    r.apply(2, Input::Leave).unwrap();
    assert_eq!(r.snapshot().players.len(), 1);
}

#[test]
fn a_session_taken_before_leaving_is_restored_by_resume() {
    let mut r = room("football");
    on_team(&mut r, 4, Some(Team::Red));
    stand(&mut r, 4, [0.0, 0.0, 2.0]).unwrap();
    kick(&mut r, 4, 0, [0.0, 0.0, -1.0], None, Some(9)).unwrap();
    r.tick();
    let session = r.session(4);
    assert_eq!(
        session,
        ClientSession {
            team: Some(Team::Red),
            pose: Some(([0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 1.0])),
            last_ack: Some(9),
        }
    );
    r.apply(4, Input::Leave).unwrap();
    assert_eq!(r.session(4), ClientSession::default());
    let mut back = r.apply(4, Input::Resume(session.clone())).unwrap();
    back.announcements.extend(
        r.apply(4, Input::Join { spectator: false })
            .unwrap()
            .announcements,
    );
    assert_eq!(r.session(4), session);
    assert!(
        back.announcements
            .iter()
            .any(|a| matches!(a, Announcement::Pose(p) if p.client == 4)),
        "the others see where it stands"
    );
    assert_eq!(r.snapshot().acks.get(&4), Some(&9));
}

/// Sleeping through ticks at rest and running them give the clients the same snapshots:
/// the host that skips to each at-rest snapshot and ticks once sees what a room ticking
/// every tick sent.
#[test]
fn skipping_to_each_snapshot_at_rest_sends_what_ticking_sent() {
    let (mut ticking, mut sleeping) = (room("kickballs"), room("kickballs"));
    let settled = settle(&mut ticking);
    assert_eq!(
        settle(&mut sleeping),
        settled,
        "the same scene settles alike"
    );
    // Six seconds: every tick run, against a wake-up per snapshot.
    let end = ticking.tick_count() + 360;
    let mut ran = Vec::new();
    while ticking.tick_count() < end {
        ran.extend(ticking.tick().snapshot);
    }
    let (mut slept, mut wake_ups) = (Vec::new(), 0);
    while sleeping.tick_count() < end {
        assert!(sleeping.is_at_rest());
        let ahead = sleeping.next_due_tick() - sleeping.tick_count();
        let ahead = ahead.min(end - sleeping.tick_count());
        assert!(sleeping.skip(ahead - 1));
        slept.extend(sleeping.tick().snapshot);
        wake_ups += 1;
    }
    assert_eq!(slept, ran);
    assert!(
        (5..=8).contains(&ran.len()),
        "{} snapshots in 6 s at rest",
        ran.len()
    );
    assert!(wake_ups <= ran.len() + 1, "{wake_ups} wake-ups");
    // The clock moved on with the skips: a kick now is applied on the next tick.
    kick(&mut sleeping, 1, 0, [0.0, 0.0, 20.0], None, Some(3)).unwrap();
    assert!(!sleeping.is_at_rest());
    let out = sleeping.tick();
    assert_eq!(out.snapshot.unwrap().tick, end + 1);
}

#[test]
fn any_sensor_reports_a_ball_entering_and_leaving_it() {
    let mut scene = (*SceneLibrary::builtin().get("kickballs").unwrap()).clone();
    // A thin sensor slab across ball 1's path (it starts at z = 8), and an unnamed one
    // nobody reaches.
    for (name, z) in [(Some("zone"), 11.0), (None, 15.0)] {
        let mut s = scene.statics[0].clone();
        s.name = name.map(str::to_owned);
        s.shape = crate::scene::Shape::Cuboid {
            half_extents: [2.0, 2.0, 0.25],
        };
        s.position = [8.0, 1.0, z];
        s.sensor = true;
        scene.statics.push(s);
    }
    assert_eq!(
        scene.sensor_names(),
        [Arc::from("zone"), Arc::from("statics[7]")]
    );
    let mut r = Room::new(Arc::new(scene), SimConfig::default());
    kick(&mut r, 1, 1, [0.0, 0.0, 30.0], None, None).unwrap();
    let mut events = Vec::new();
    for _ in 0..180 {
        events.extend(r.tick().sensors);
    }
    let zone: Vec<_> = events
        .iter()
        .filter(|e| &*e.sensor == "zone")
        .map(|e| (e.ball, e.entered))
        .collect();
    assert_eq!(zone[..2], [(1, true), (1, false)], "{events:?}");
    let (enter, leave) = (events[0].tick, events[1].tick);
    assert!(enter < leave, "{events:?}");
}

/// `client` in the room (as the host says when it joins), on `team`.
pub(super) fn on_team(r: &mut Room, client: ClientId, team: Option<Team>) {
    r.apply(client, Input::Join { spectator: false }).unwrap();
    r.apply(client, Input::JoinTeam(team)).unwrap();
}
