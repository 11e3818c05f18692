//! Kicks on the tick their client predicted (`Kick::tick`): held until then, never run
//! late, never held longer than `MAX_KICK_LEAD`, and the room stays awake meanwhile.

use super::*;
use crate::scene::SceneLibrary;

fn room() -> Room {
    let mut r = Room::new(
        SceneLibrary::builtin().get("kickballs").unwrap(),
        SimConfig::default(),
    );
    while !r.is_at_rest() {
        r.tick();
    }
    r
}

fn kick(ball: BallId, seq: u64, tick: Option<u64>) -> Input {
    Input::Kick(Kick {
        ball,
        impulse: [0.0, 0.0, 30.0],
        point: None,
        seq: Some(seq),
        seen_at: None,
        tick,
    })
}

/// Tick until a kick is applied; returns the tick and the kicks' seqs.
fn next_kicks(r: &mut Room) -> (u64, Vec<Option<u64>>) {
    for _ in 0..120 {
        let out = r.tick();
        let seqs: Vec<Option<u64>> = out
            .announcements
            .iter()
            .filter_map(|a| match a {
                Announcement::Kick(k) => {
                    assert_eq!(k.tick, r.tick_count());
                    Some(k.seq)
                }
                _ => None,
            })
            .collect();
        if !seqs.is_empty() {
            return (r.tick_count(), seqs);
        }
    }
    panic!("no kick was applied in 120 ticks");
}

#[test]
fn a_kick_naming_a_later_tick_is_held_until_then_and_keeps_the_room_awake() {
    let mut r = room();
    let now = r.tick_count();
    r.apply(1, kick(1, 1, Some(now + 6))).unwrap();
    assert!(!r.is_at_rest(), "a held kick keeps the room ticking");
    assert_eq!(next_kicks(&mut r), (now + 6, vec![Some(1)]));
    let snapshot = r.snapshot();
    assert_eq!(snapshot.acks.get(&1), Some(&1));
}

#[test]
fn a_kick_naming_a_tick_already_run_lands_on_the_next_one() {
    let mut r = room();
    let now = r.tick_count();
    r.apply(1, kick(1, 1, Some(now.saturating_sub(3)))).unwrap();
    assert_eq!(next_kicks(&mut r), (now + 1, vec![Some(1)]));
}

#[test]
fn a_kick_is_held_at_most_max_kick_lead() {
    let mut r = room();
    let now = r.tick_count();
    r.apply(1, kick(1, 1, Some(now + 10_000))).unwrap();
    let furthest = now + 1 + (MAX_KICK_LEAD * 60.0) as u64;
    assert_eq!(next_kicks(&mut r), (furthest, vec![Some(1)]));
}

#[test]
fn held_kicks_run_in_the_order_of_their_ticks_and_a_leaver_takes_his_with_him() {
    let mut r = room();
    let now = r.tick_count();
    r.apply(1, kick(0, 1, Some(now + 5))).unwrap();
    r.apply(2, kick(1, 7, Some(now + 3))).unwrap();
    r.apply(3, kick(2, 4, Some(now + 4))).unwrap();
    r.apply(3, Input::Leave).unwrap();
    assert_eq!(next_kicks(&mut r), (now + 3, vec![Some(7)]));
    assert_eq!(next_kicks(&mut r), (now + 5, vec![Some(1)]));
}

#[test]
fn a_saved_room_with_held_kicks_restores_without_them_as_their_kickers_are_gone() {
    let mut r = room();
    let now = r.tick_count();
    r.apply(1, kick(1, 1, Some(now + 8))).unwrap();
    let bytes = postcard::to_allocvec(&r.save()).unwrap();
    let saved: SavedRoom<'_> = postcard::from_bytes(&bytes).unwrap();
    let scene = SceneLibrary::builtin().get("kickballs").unwrap();
    let mut restored = Room::restore(scene, SimConfig::default(), saved).unwrap();
    for _ in 0..30 {
        let out = restored.tick();
        assert!(
            !out.announcements
                .iter()
                .any(|a| matches!(a, Announcement::Kick(_)))
        );
    }
}

/// Kicks on every tick by a crowd of players: each kick's event goes out with the first
/// snapshot that acks it, at most one snapshot interval after it was applied, and kicks
/// add at most one snapshot per interval (after the burst) to the scheduled ones.
#[test]
fn kicks_on_every_tick_coalesce_into_the_snapshots_that_ack_them() {
    let mut r = room();
    let every = 3; // 60 Hz ticks, 20 snapshots a second
    let (start, ticks) = (r.tick_count(), 60u64);
    let (mut snapshots, mut held) = (0u64, Vec::new());
    for i in 0..ticks + every {
        if i < ticks {
            r.apply(100 + i, kick((i % 3) as BallId, 1, None)).unwrap();
        }
        let out = r.tick();
        for a in &out.announcements {
            if let Announcement::Kick(k) = a {
                held.push((k.client, k.tick));
            }
        }
        match &out.snapshot {
            Some(s) => {
                snapshots += 1;
                for (client, applied) in held.drain(..) {
                    assert_eq!(s.acks.get(&client), Some(&1), "the snapshot acks the kick");
                    assert!(
                        s.tick - applied < every,
                        "a kick waits less than an interval"
                    );
                }
            }
            None => assert!(
                out.announcements.is_empty(),
                "no kick event goes out without its snapshot"
            ),
        }
    }
    assert!(held.is_empty());
    let scheduled = (ticks + every) / every;
    let most = scheduled + KICK_SNAPSHOT_BURST + (ticks + every) / every;
    assert!(
        snapshots <= most && snapshots < ticks,
        "{snapshots} snapshots in {} ticks from {start}",
        ticks + every
    );
}

/// Kicks as often as a room of ten players makes them (one every 12 ticks): each one's
/// snapshot goes out on its own tick, as before the budget.
#[test]
fn kicks_at_a_normal_rate_get_their_snapshot_on_their_tick() {
    let mut r = room();
    for i in 0..20u64 {
        r.apply(200 + i, kick((i % 3) as BallId, 1, None)).unwrap();
        let out = r.tick();
        assert!(out.snapshot.is_some(), "kick {i}: a snapshot on its tick");
        for _ in 0..11 {
            r.tick();
        }
    }
}
