//! Identifiers and small types shared by the scene format, the simulation and the wire
//! format. A leaf: it imports nothing from the crate, so that neither `scene` nor
//! `protocol` has to import the other to name a ball or a team.

use serde::{Deserialize, Serialize};

/// Server-wide unique id of one connection.
pub type ClientId = u64;

/// Id of a ball within its scene.
pub type BallId = u32;

/// A match team. Its serde form (`"blue"`, `"red"`) is used by scene files and the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Team {
    Blue,
    Red,
}

impl Team {
    pub fn other(self) -> Team {
        match self {
            Team::Blue => Team::Red,
            Team::Red => Team::Blue,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Team::Blue => "blue",
            Team::Red => "red",
        }
    }
}

impl std::fmt::Display for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True when every component is a finite number.
pub fn all_finite(xs: &[f32]) -> bool {
    xs.iter().all(|x| x.is_finite())
}
