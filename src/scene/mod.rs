//! Scenes: the data files in `assets/scenes/` that describe a room's world.
//!
//! The built-in scenes are embedded in the binary at build time; `--assets DIR` loads
//! `DIR/scenes/*.json` at start-up, adding scenes or overriding built-ins of the same name.
//! A scene is validated once when loaded, so a room never meets a bad one. The same
//! structure, serialized, is the `scene` field of the `welcome` message.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::ids::BallId;

pub mod body;
mod gltf_nodes;
mod library;
pub mod model;
mod model_problem;
mod rules_file;
mod validate;

pub use body::BodyShape;
pub use library::{SceneLibrary, SceneLoad, stamp as library_stamp};
pub use model::{Geometry, ModelError, ModelRef, ServedFile};

/// A world description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// m/s².
    #[serde(default = "default_gravity")]
    pub gravity: [f32; 3],
    /// Largest accepted kick impulse magnitude (N·s).
    #[serde(default = "default_max_impulse")]
    pub max_impulse: f32,
    /// Solver substeps per tick (rapier's `num_solver_iterations`; rapier's default is 4).
    /// A few balls on flat ground need fewer; stacks and joints need more.
    #[serde(default = "default_solver_iterations")]
    pub solver_iterations: u32,
    /// A ball whose centre falls below this height is put back at its spawn point.
    #[serde(default = "default_respawn_below")]
    pub respawn_below: f32,
    /// The capsule that stands for each player who reports a position.
    #[serde(default)]
    pub player: PlayerShape,
    /// Who may kick, how often and from where.
    #[serde(default)]
    pub kick_rules: KickRules,
    /// Fixed colliders: ground, walls, and sensors (such as goal mouths).
    #[serde(default)]
    pub statics: Vec<StaticCollider>,
    /// glTF models (files under `--assets DIR`) whose marked nodes are more statics and
    /// sensors; clients fetch each from its `url` to draw it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelRef>,
    /// The colliders and files built from `models`, once per scene.
    #[serde(skip)]
    pub geometry: Geometry,
    #[serde(default)]
    pub balls: Vec<Ball>,
    /// Most clients in one room of this scene (spectators included). The server's
    /// `--max-clients-per-room` still applies: a room takes the lower of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_clients: Option<u32>,
    /// The room's rules: a JavaScript module, `rules/NAME.js` under `--assets DIR` or
    /// built in (`docs/RULES.md`). Without it the room has no rules of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    /// What the rules read as `room.options` (any JSON object): their settings for this
    /// scene, so that one rules file serves several scenes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_options: Option<serde_json::Value>,
    /// The text of `rules`, read (and checked to load) with the scene.
    #[serde(skip)]
    pub rules_source: Option<std::sync::Arc<str>>,
    /// Fault injection for tests: the room panics on this tick. Only an operator's scene
    /// file can set it (clients cannot); never set it in a real scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_panic_at_tick: Option<u64>,
}

impl Scene {
    /// A scene with no balls has nothing to simulate: its rooms are pure relays.
    pub fn has_physics(&self) -> bool {
        !self.balls.is_empty()
    }

    /// Every sensor's name, in the order a room's world is built: the sensor statics
    /// (one without a name is `statics[i]`), then each model's sensors.
    pub fn sensor_names(&self) -> Vec<std::sync::Arc<str>> {
        let statics = self.statics.iter().enumerate().filter(|(_, s)| s.sensor);
        statics
            .map(|(i, s)| match &s.name {
                Some(name) => name.as_str().into(),
                None => format!("statics[{i}]").into(),
            })
            .chain(
                self.models
                    .iter()
                    .flat_map(|m| &m.sensors)
                    .map(|n| n.as_str().into()),
            )
            .collect()
    }
}

/// A player's collider: a vertical capsule standing on the reported feet position.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayerShape {
    pub radius: f32,
    pub height: f32,
}

impl Default for PlayerShape {
    fn default() -> Self {
        PlayerShape {
            radius: 0.35,
            height: 1.8,
        }
    }
}

/// Kick validation: the server trusts no client.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KickRules {
    /// Largest distance (m) from the ball's surface to the kicker's centre line (the
    /// vertical segment from the reported feet position up `player.height`).
    pub reach: f32,
    /// Refuse kicks from clients that never reported a `player` position. Clients that did
    /// report one are held to `reach` either way.
    pub require_position: bool,
    /// Sustained kicks per second per client.
    pub rate: f32,
    /// Kicks a client may make back to back before `rate` applies.
    pub burst: f32,
    /// Fastest a reported player position may move (m/s); faster jumps are refused.
    pub max_player_speed: f32,
}

impl Default for KickRules {
    fn default() -> Self {
        KickRules {
            reach: 2.5,
            require_position: false,
            rate: 5.0,
            burst: 3.0,
            max_player_speed: 20.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticCollider {
    /// Optional label (goal sensors are named, for instance `goal_blue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub shape: Shape,
    pub position: [f32; 3],
    /// `[x, y, z, w]`.
    #[serde(default = "identity")]
    pub rotation: [f32; 4],
    /// A sensor detects overlaps but does not collide.
    #[serde(default)]
    pub sensor: bool,
    #[serde(default = "default_friction")]
    pub friction: f32,
    #[serde(default = "default_static_restitution")]
    pub restitution: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shape {
    Cuboid {
        half_extents: [f32; 3],
    },
    Ball {
        radius: f32,
    },
    /// Vertical (along y).
    Capsule {
        half_height: f32,
        radius: f32,
    },
    /// Vertical (along y).
    Cylinder {
        half_height: f32,
        radius: f32,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ball {
    pub id: BallId,
    /// m. With a `shape`, the shape's bounding radius (set when the scene loads).
    #[serde(default)]
    pub radius: f32,
    /// The body's collider; a ball of `radius` when absent (and so in every loaded scene).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<BodyShape>,
    /// kg.
    pub mass: f32,
    /// Spawn position of the centre.
    pub position: [f32; 3],
    #[serde(default = "default_damping")]
    pub linear_damping: f32,
    #[serde(default = "default_damping")]
    pub angular_damping: f32,
    #[serde(default = "default_friction")]
    pub friction: f32,
    #[serde(default = "default_ball_restitution")]
    pub restitution: f32,
}

fn default_gravity() -> [f32; 3] {
    [0.0, -9.82, 0.0]
}
fn default_max_impulse() -> f32 {
    150.0
}
fn default_solver_iterations() -> u32 {
    4
}
fn default_respawn_below() -> f32 {
    -20.0
}
pub(crate) fn identity() -> [f32; 4] {
    [0.0, 0.0, 0.0, 1.0]
}
fn default_friction() -> f32 {
    0.5
}
fn default_static_restitution() -> f32 {
    0.5
}
fn default_ball_restitution() -> f32 {
    0.6
}
fn default_damping() -> f32 {
    0.4
}

/// A scene file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("scene file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scene `{name}`: {source}")]
    Parse {
        name: String,
        source: serde_json::Error,
    },
    #[error("scene `{name}`: {problem}")]
    Invalid { name: String, problem: String },
    #[error("scene `{name}`: {source}")]
    Model { name: String, source: ModelError },
}

impl Scene {
    /// Parse and validate a scene; `name` is the file stem it must declare.
    pub fn from_json(name: &str, text: &str) -> Result<Scene, SceneError> {
        let scene = Scene::parse(name, text)?;
        if scene.name != name {
            return Err(SceneError::Invalid {
                name: name.to_owned(),
                problem: format!(
                    "declares name `{}` but its file is `{name}.json`",
                    scene.name
                ),
            });
        }
        if !scene.models.is_empty() || body::has_hulls(&scene.balls) {
            return Err(SceneError::Invalid {
                name: name.to_owned(),
                problem: "models and convex hulls are read from an --assets directory only".into(),
            });
        }
        let mut scene = scene;
        body::fill(&mut scene.balls);
        rules_file::attach(&mut scene, None)?;
        scene.checked()
    }

    /// Parse a scene file of `dir/scenes`, build its models from `dir`, and validate it.
    pub fn load(name: &str, text: &str, dir: &Path) -> Result<Scene, SceneError> {
        let mut scene = Scene::parse(name, text)?;
        if scene.name != name {
            return Err(SceneError::Invalid {
                name: name.to_owned(),
                problem: format!(
                    "declares name `{}` but its file is `{name}.json`",
                    scene.name
                ),
            });
        }
        let failed = |source| SceneError::Model {
            name: name.to_owned(),
            source,
        };
        scene.geometry = model::load(
            dir,
            &mut scene.models,
            default_friction(),
            default_static_restitution(),
        )
        .map_err(failed)?;
        let g = &mut scene.geometry;
        let (hulls, served, triangles) =
            body::load_hulls(dir, &mut scene.balls, g.triangles).map_err(failed)?;
        g.hulls = hulls.into();
        g.files = g.files.iter().cloned().chain(served).collect();
        g.triangles = triangles;
        body::fill(&mut scene.balls);
        rules_file::attach(&mut scene, Some(dir))?;
        scene.checked()
    }

    /// Parse and validate a scene that a saved room carries: no file, so any name. Its
    /// rules' text comes with the saved room (see `room::SavedRoom`).
    pub fn from_saved_json(text: &str) -> Result<Scene, SceneError> {
        let mut scene = Scene::parse("(saved room)", text)?;
        body::fill(&mut scene.balls);
        scene.checked()
    }

    /// `text` as a scene, not yet validated; `label` names it in a parse error.
    fn parse(label: &str, text: &str) -> Result<Scene, SceneError> {
        serde_json::from_str(text).map_err(|source| SceneError::Parse {
            name: label.to_owned(),
            source,
        })
    }

    /// The scene, if it is valid.
    fn checked(self) -> Result<Scene, SceneError> {
        match self.validate() {
            Ok(()) => Ok(self),
            Err(problem) => Err(SceneError::Invalid {
                name: self.name,
                problem,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
