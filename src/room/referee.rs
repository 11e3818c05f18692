//! The referee: what the room checks before an input touches the world. The server
//! trusts no client, so a kick is checked against the scene (ball, impulse, contact point),
//! the match (phase, team, kick-off), the kicker's reach from its last accepted position
//! (to the ball now, or where the kicker's client showed it, at most `MAX_REWIND` back)
//! and a per-client token bucket; a reported position against the scene's top speed.

use rapier3d::prelude::*;

use super::Room;
use super::world::distance_to_segment;
use crate::ids::{BallId, ClientId};

/// Why the room refused an input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("this room has no physics (scene `{0}`)")]
    NoPhysics(String),
    #[error("no ball with id {0} in this scene")]
    UnknownBall(BallId),
    #[error("impulse magnitude {magnitude:.1} N·s exceeds this scene's maximum of {max} N·s")]
    ImpulseTooLarge { magnitude: f32, max: f32 },
    #[error("kick point is {distance:.2} m from the ball's centre; at most {max:.2} m is allowed")]
    PointTooFar { distance: f32, max: f32 },
    #[error("the ball is {distance:.2} m from your player; reach is {reach} m")]
    TooFar { distance: f32, reach: f32 },
    #[error("report your position with a `player` message before kicking in this scene")]
    NoPosition,
    #[error("too many kicks: at most {rate} per second (bursts of {burst})")]
    RateLimited { rate: f32, burst: f32 },
    #[error("position moved {distance:.2} m in {seconds:.3} s; at most {allowed:.2} m is allowed")]
    Teleport {
        distance: f32,
        seconds: f32,
        allowed: f32,
    },
    /// The rules' `onKick` refused the kick, with their reason.
    #[error("refused by the room's rules: {0}")]
    RefusedByRules(String),
    /// The rules' `onKick` failed (threw, ran past its time or out of memory).
    #[error("the room's rules failed on this kick: {0}")]
    RulesFailed(String),
    #[error("this scene has no rules (scene `{0}`)")]
    NoRules(String),
}

/// What the room knows of one client.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct ClientState {
    /// Last accepted feet position and the tick it was reported on.
    pub position: Option<(Vector, u64)>,
    /// The last pose announced for this client: an identical report is not announced again.
    pub pose: Option<([f32; 3], [f32; 4])>,
    /// The kinematic capsule standing for the player.
    pub body: Option<RigidBodyHandle>,
    /// Kick tokens and the tick they were last topped up.
    pub tokens: Option<(f32, u64)>,
}

/// A kick that passed the referee, waiting for the next tick.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct QueuedKick {
    pub client: ClientId,
    /// Index into the room's balls.
    pub ball: usize,
    pub impulse: Vector,
    pub point: Option<Vector>,
    pub seq: Option<u64>,
    /// The tick it is applied on. Not saved: a restored room keeps none (every client it
    /// held leaves, and a leaver's kicks go with it).
    #[serde(skip)]
    pub due: u64,
}

/// A player moving further than this in one update is placed, not swept, so a reconnect
/// does not bat balls across the scene.
const PLAYER_TELEPORT_DISTANCE: f32 = 5.0;
/// Slack for the speed check: network jitter can bunch position updates together.
const POSITION_TOLERANCE: f32 = 0.5;
/// Updates closer together than this are judged as if this far apart.
const MIN_POSITION_INTERVAL: f32 = 0.05;

impl Room {
    /// Check a kick against the scene, the match, the kicker's reach and its kick budget
    /// (spending a token when it passes).
    pub(super) fn check_kick(
        &mut self,
        client: ClientId,
        kick: &super::Kick,
    ) -> Result<QueuedKick, Refusal> {
        if !self.scene.has_physics() {
            return Err(Refusal::NoPhysics(self.scene.name.clone()));
        }
        let index = self
            .balls
            .iter()
            .position(|b| b.id == kick.ball)
            .ok_or(Refusal::UnknownBall(kick.ball))?;
        let impulse = Vector::from_array(kick.impulse);
        let magnitude = impulse.length();
        if magnitude > self.scene.max_impulse {
            return Err(Refusal::ImpulseTooLarge {
                magnitude,
                max: self.scene.max_impulse,
            });
        }
        let b = &self.balls[index];
        let centre = self.world.bodies[b.handle].translation();
        let point = kick.point.map(Vector::from_array);
        if let Some(p) = point {
            let distance = p.distance(centre);
            let max = 2.0 * b.radius;
            if distance > max {
                return Err(Refusal::PointTooFar { distance, max });
            }
        }
        let seen = kick.seen_at.and_then(|t| self.seen_position(index, t));
        let b = &self.balls[index];
        let rules = self.scene.kick_rules;
        let state = self.clients.entry(client).or_default();
        match state.position {
            Some((feet, _)) => {
                let head = feet + Vector::Y * self.scene.player.height;
                let to = |c: Vector| distance_to_segment(c, feet, head) - b.radius;
                let distance = seen.map_or(to(centre), |p| to(p).min(to(centre)));
                if distance > rules.reach {
                    return Err(Refusal::TooFar {
                        distance,
                        reach: rules.reach,
                    });
                }
            }
            None if rules.require_position => return Err(Refusal::NoPosition),
            None => {}
        }
        // Token bucket, refilled by room ticks so it is exact under test and replay.
        let (tokens, since) = state.tokens.unwrap_or((rules.burst, self.tick));
        let refill = (self.tick - since) as f32 * rules.rate / self.tick_rate as f32;
        let tokens = (tokens + refill).min(rules.burst);
        if tokens < 1.0 {
            state.tokens = Some((tokens, self.tick));
            return Err(Refusal::RateLimited {
                rate: rules.rate,
                burst: rules.burst,
            });
        }
        state.tokens = Some((tokens - 1.0, self.tick));
        Ok(QueuedKick {
            client,
            ball: index,
            impulse,
            point,
            seq: kick.seq,
            due: self.tick + 1,
        })
    }

    /// Where ball `index` was at room time `seen_at` (s), as far back as the history
    /// goes and never more than `MAX_REWIND` before now (nor after now).
    fn seen_position(&self, index: usize, seen_at: f64) -> Option<Vector> {
        if !seen_at.is_finite() {
            return None;
        }
        let now = self.tick as f64;
        let oldest = now - self.rewind_ticks() as f64;
        let at = (seen_at * self.tick_rate).clamp(oldest.max(0.0), now);
        self.history.position(index, at)
    }

    /// Place or move a player's kinematic capsule (`feet` is the feet position). A position
    /// that moved faster than the scene's `max_player_speed` is refused. An unchanged
    /// position costs no physics step.
    pub(super) fn move_player(&mut self, client: ClientId, feet: [f32; 3]) -> Result<(), Refusal> {
        let feet = Vector::from_array(feet);
        let tick = self.tick;
        let max_speed = self.scene.kick_rules.max_player_speed;
        let state = self.clients.entry(client).or_default();
        if let Some((last, at)) = state.position {
            let seconds = ((tick - at) as f64 / self.tick_rate) as f32;
            let allowed = max_speed * seconds.max(MIN_POSITION_INTERVAL) + POSITION_TOLERANCE;
            let distance = feet.distance(last);
            if distance > allowed {
                return Err(Refusal::Teleport {
                    distance,
                    seconds,
                    allowed,
                });
            }
        }
        if state.position.is_some_and(|(last, _)| last == feet) {
            // Standing still: nothing to simulate. The fresh timestamp means the next
            // move is judged from here and now.
            state.position = Some((feet, tick));
            return Ok(());
        }
        state.position = Some((feet, tick));
        let shape = self.scene.player;
        let centre = feet + Vector::Y * (shape.height / 2.0);
        match state.body {
            Some(handle) => {
                let body = &mut self.world.bodies[handle];
                if body.translation().distance(centre) > PLAYER_TELEPORT_DISTANCE {
                    body.set_translation(centre, true);
                }
                body.set_next_kinematic_translation(centre);
            }
            None => {
                let body = RigidBodyBuilder::kinematic_position_based().translation(centre);
                let half_height = shape.height / 2.0 - shape.radius;
                let collider = ColliderBuilder::capsule_y(half_height, shape.radius);
                let (handle, _) = self.world.insert(body, collider);
                state.body = Some(handle);
            }
        }
        self.players_moved = true;
        Ok(())
    }
}
