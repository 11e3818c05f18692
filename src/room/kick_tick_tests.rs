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
