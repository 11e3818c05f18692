use std::sync::Arc;

use super::*;
use crate::room::{Input, Kick, Room, SimConfig};
use crate::scene::SceneLibrary;

fn kickballs() -> Arc<Scene> {
    SceneLibrary::builtin().get("kickballs").unwrap()
}

/// A kickballs room a few ticks after a kick, with one player standing in it.
fn played_room() -> Room {
    let mut room = Room::new(kickballs(), SimConfig::default());
    let ball = room.snapshot().balls[0].clone();
    let [x, _, z] = ball.position;
    room.apply(
        7,
        Input::Pose {
            position: [x, 0.0, z + 1.0],
            rotation: [0.0, 0.0, 0.0, 1.0],
        },
    )
    .unwrap();
    room.apply(
        7,
        Input::Kick(Kick {
            ball: ball.id,
            impulse: [2.0, 3.0, 0.5],
            point: None,
            seq: Some(4),
            seen_at: None,
            tick: None,
        }),
    )
    .unwrap();
    for _ in 0..20 {
        room.tick();
    }
    room
}

fn record(room: &Room) -> RoomRecord<'_> {
    RoomRecord {
        name: "/pitch".into(),
        scene: serde_json::to_string(&*kickballs()).unwrap(),
        saved_at_ms: 1,
        sessions: vec![SavedSession {
            token: "t".into(),
            client: 7,
            player: None,
            spectator: false,
            session: room.session(7),
            resumable_until_ms: 2,
        }],
        room: room.save(),
    }
}

#[test]
fn a_restored_room_carries_on_exactly_where_it_was() {
    let mut original = played_room();
    let bytes = record(&original).encode();
    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded.sessions[0].session.last_ack, Some(4));
    assert_eq!(decoded.max_client(), 7);
    let scene = decoded.scene().unwrap();
    let mut restored = Room::restore(scene, SimConfig::default(), decoded.room).unwrap();
    // The player left with its connection: the original room loses it too, then both
    // step on together and must agree to the last bit.
    original.apply(7, Input::Leave).unwrap();
    assert_eq!(restored.tick_count(), original.tick_count());
    for _ in 0..60 {
        let (a, b) = (original.tick().snapshot, restored.tick().snapshot);
        assert_eq!(a, b);
    }
    assert_eq!(original.snapshot(), restored.snapshot());
    assert!(original.snapshot().balls.iter().any(|b| !b.sleeping));
}

#[test]
fn bad_bytes_are_refused_with_a_reason() {
    let room = played_room();
    let bytes = record(&room).encode();
    assert!(matches!(decode(b"garbage!"), Err(RecordError::NotARecord)));
    let mut newer = bytes.clone();
    newer[MAGIC.len()..MAGIC.len() + 2].copy_from_slice(&99u16.to_le_bytes());
    assert!(matches!(
        decode(&newer),
        Err(RecordError::UnsupportedVersion(99))
    ));
    let truncated = &bytes[..bytes.len() / 2];
    assert!(matches!(decode(truncated), Err(RecordError::Corrupt(_))));
}

#[test]
fn a_room_saved_at_another_tick_rate_is_not_restored() {
    let room = played_room();
    let bytes = record(&room).encode();
    let decoded = decode(&bytes).unwrap();
    let sim = SimConfig {
        tick_rate: 30.0,
        ..SimConfig::default()
    };
    let refused = Room::restore(kickballs(), sim, decoded.room).err();
    assert_eq!(
        refused,
        Some(crate::room::RestoreError::TickRate {
            saved: 60.0,
            now: 30.0
        })
    );
}

#[test]
fn the_state_dir_takes_back_what_it_wrote_and_moves_bad_files_aside() {
    let dir = std::env::temp_dir().join(format!("ballroom-state-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = StateDir::open(&dir).unwrap();
    let room = played_room();
    let written = state.write("/pitch", &record(&room).encode()).unwrap();
    assert!(written.exists());
    std::fs::write(dir.join("junk.room"), b"not a room").unwrap();
    let taken = state.take_all().unwrap();
    assert_eq!(taken.len(), 2);
    let mut rooms = 0;
    for t in taken {
        match t {
            Taken::Room { record, scene } => {
                assert_eq!(record.name, "/pitch");
                assert_eq!(scene.name, "kickballs");
                rooms += 1;
            }
            Taken::Bad {
                moved_to, error, ..
            } => {
                assert!(matches!(error, RecordError::NotARecord));
                assert!(moved_to.exists());
            }
        }
    }
    assert_eq!(rooms, 1);
    assert!(!written.exists(), "a taken file is removed");
    assert!(state.take_all().unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
