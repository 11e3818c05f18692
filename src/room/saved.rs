//! A room saved whole, to be carried on elsewhere: after a restart (`--state-dir`) or, in
//! a cluster, on another node. [`Room::save`] takes it and [`Room::restore`] rebuilds the
//! room from it; turning it into bytes is the `persist` layer's job.
//!
//! The rapier world goes through rapier's own serde support, so a restored room carries
//! on exactly where it was: the same poses, velocities, sleep states and contact caches.
//! The scene itself is not part of it (the caller keeps the scene the room ran).
//!
//! Restoring treats every client the saved room held as gone: nobody is connected to the
//! new room yet. Each one leaves (its capsule goes, and the match pauses, or is forfeited,
//! as its rules say for an emptied team), exactly as if its connection had dropped; the
//! transport keeps each one's [`ClientSession`](super::ClientSession) resumable.

use std::collections::BTreeMap;
use std::sync::Arc;

use rapier3d::prelude::*;
use serde::{Deserialize, Serialize};

use super::referee::{ClientState, QueuedKick};
use super::rules::{RoomRules, SavedRules};
use super::snapshot::SnapshotSchedule;
use super::world::{BallBody, CollisionLog};
use super::{Effects, Room, SimConfig};
use crate::ids::ClientId;
use crate::scene::Scene;

/// Everything a room is, but its scene. Saving borrows the room's world (rapier's world
/// cannot be cloned, and need not be); a restored one owns it.
#[derive(Serialize, Deserialize)]
pub struct SavedRoom<'a> {
    world: Held<'a, PhysicsWorld>,
    balls: Vec<BallBody>,
    clients: Vec<(ClientId, ClientState)>,
    queued: Vec<QueuedKick>,
    acks: BTreeMap<ClientId, u64>,
    tick: u64,
    /// Ticks per second the room ran at: its tick counts mean nothing at another rate.
    tick_rate: f64,
    schedule: SnapshotSchedule,
    /// The rules, their text and state (in a scene with rules).
    rules: Option<SavedRules>,
}

impl SavedRoom<'_> {
    /// Ticks taken when it was saved.
    pub fn tick(&self) -> u64 {
        self.tick
    }
}

/// Why a saved room cannot be carried on with this scene and configuration.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RestoreError {
    #[error("the room ran at {saved} ticks per second, this server runs at {now}")]
    TickRate { saved: f64, now: f64 },
    #[error("the saved world does not fit scene `{0}`: its balls differ")]
    SceneMismatch(String),
}

impl Room {
    /// The whole room as it is now.
    pub fn save(&self) -> SavedRoom<'_> {
        SavedRoom {
            world: Held::Borrowed(&self.world),
            balls: self.balls.clone(),
            clients: self.clients.iter().map(|(&c, s)| (c, s.clone())).collect(),
            queued: self.queued.clone(),
            acks: self.acks.clone(),
            tick: self.tick,
            tick_rate: self.tick_rate,
            schedule: self.schedule,
            rules: self.rules.as_ref().map(|r| r.save(&self.scene)),
        }
    }

    /// The room `saved` was, on `scene`, with every client it held gone (see the module
    /// docs).
    pub fn restore(
        scene: Arc<Scene>,
        sim: SimConfig,
        saved: SavedRoom<'_>,
    ) -> Result<Room, RestoreError> {
        if saved.tick_rate != sim.tick_rate {
            return Err(RestoreError::TickRate {
                saved: saved.tick_rate,
                now: sim.tick_rate,
            });
        }
        let world = saved.world.into_owned();
        let fits = saved.balls.len() == scene.balls.len()
            && saved.balls.iter().zip(&scene.balls).all(|(b, s)| {
                b.id == s.id
                    && world.bodies.get(b.handle).is_some()
                    && world.colliders.get(b.collider).is_some()
            });
        if !fits {
            return Err(RestoreError::SceneMismatch(scene.name.clone()));
        }
        // The rules come back from the room as saved, not from this server's files.
        let scene = match (&saved.rules, &scene.rules_source) {
            (Some(rules), None) => {
                let mut with_source = (*scene).clone();
                with_source.rules_source = Some(rules.source().into());
                Arc::new(with_source)
            }
            _ => scene,
        };
        let rules = saved
            .rules
            .and_then(|r| RoomRules::restore(r, &scene, &sim));
        let mut room = Room {
            world,
            balls: saved.balls,
            sensor_names: scene.sensor_names(),
            collisions: CollisionLog::default(),
            clients: saved.clients.into_iter().collect(),
            queued: saved.queued,
            acks: saved.acks,
            tick: saved.tick,
            tick_rate: sim.tick_rate,
            schedule: saved.schedule.at_rate(sim.tick_rate, sim.snapshot_rate),
            players_moved: true,
            poses_changed: true,
            // A restored room judges kicks against its balls now until it has ticked.
            history: Default::default(),
            scene,
            rules,
            deferred: Effects::default(),
        };
        let mut gone: Vec<ClientId> = room.clients.keys().copied().collect();
        gone.extend(room.rules.iter().flat_map(RoomRules::members));
        gone.extend(room.acks.keys());
        gone.sort_unstable();
        gone.dedup();
        // Nobody is here to be told: what leaving announces is dropped.
        let mut unheard = Effects::default();
        for client in gone {
            room.leave(client, &mut unheard);
        }
        Ok(room)
    }
}

/// A value a [`SavedRoom`] borrows when it is saved and owns when it is read back.
enum Held<'a, T> {
    Borrowed(&'a T),
    Owned(T),
}

impl<T> Held<'_, T> {
    /// The value, which a read-back room owns.
    fn into_owned(self) -> T {
        match self {
            Held::Owned(value) => value,
            Held::Borrowed(_) => {
                unreachable!("only a read-back room is restored, and it owns its world")
            }
        }
    }
}

impl<T: Serialize> Serialize for Held<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Held::Borrowed(value) => value.serialize(serializer),
            Held::Owned(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Held<'_, T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Held::Owned)
    }
}
