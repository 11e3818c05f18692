//! The rules a scene must keep, checked once when it is loaded (or restored), so a room
//! never meets a bad one.

use std::collections::HashSet;

use super::{Scene, Shape};
use crate::ids::all_finite;

impl Scene {
    pub(super) fn validate(&self) -> Result<(), String> {
        let finite = |what: &str, xs: &[f32]| {
            if all_finite(xs) {
                Ok(())
            } else {
                Err(format!("{what} has a non-finite number"))
            }
        };
        let positive = |what: &str, x: f32| {
            if x.is_finite() && x > 0.0 {
                Ok(())
            } else {
                Err(format!("{what} must be a positive number, got {x}"))
            }
        };
        if self.max_clients == Some(0) {
            return Err("max_clients must be at least 1".into());
        }
        finite("gravity", &self.gravity)?;
        positive("max_impulse", self.max_impulse)?;
        finite("respawn_below", &[self.respawn_below])?;
        if !(1..=16).contains(&self.solver_iterations) {
            return Err("solver_iterations must be between 1 and 16".into());
        }
        positive("player.radius", self.player.radius)?;
        if self.player.height.partial_cmp(&(2.0 * self.player.radius))
            != Some(std::cmp::Ordering::Greater)
        {
            return Err("player.height must exceed twice player.radius".into());
        }
        for (i, s) in self.statics.iter().enumerate() {
            let what = format!("statics[{i}]");
            finite(&what, &s.position)?;
            finite(&what, &s.rotation)?;
            if s.rotation.iter().map(|x| x * x).sum::<f32>() < 1e-6 {
                return Err(format!("{what}.rotation has zero length"));
            }
            match s.shape {
                Shape::Cuboid { half_extents } => {
                    for h in half_extents {
                        positive(&format!("{what}.half_extents"), h)?;
                    }
                }
                Shape::Ball { radius } => positive(&format!("{what}.radius"), radius)?,
                Shape::Capsule {
                    half_height,
                    radius,
                }
                | Shape::Cylinder {
                    half_height,
                    radius,
                } => {
                    positive(&format!("{what}.half_height"), half_height)?;
                    positive(&format!("{what}.radius"), radius)?;
                }
            }
        }
        let k = &self.kick_rules;
        positive("kick_rules.reach", k.reach)?;
        positive("kick_rules.rate", k.rate)?;
        if !(k.burst.is_finite() && k.burst >= 1.0) {
            return Err("kick_rules.burst must be at least 1".into());
        }
        positive("kick_rules.max_player_speed", k.max_player_speed)?;
        let mut ids = HashSet::new();
        for b in &self.balls {
            let what = format!("ball {}", b.id);
            if !ids.insert(b.id) {
                return Err(format!("{what} is declared twice"));
            }
            positive(&format!("{what} radius"), b.radius)?;
            if let Some(problem) = b.shape.as_ref().and_then(|s| s.problem(&what)) {
                return Err(problem);
            }
            positive(&format!("{what} mass"), b.mass)?;
            finite(&what, &b.position)?;
            finite(
                &what,
                &[
                    b.linear_damping,
                    b.angular_damping,
                    b.friction,
                    b.restitution,
                ],
            )?;
        }
        Ok(())
    }
}
