//! Scenes built from glTF models (`--assets DIR` with `models`), over real sockets: mesh
//! colliders that balls bounce off, model sensors that score goals, the files clients
//! fetch, bad models refused with their reason while other rooms are served, and scene
//! files reloaded for new rooms without a restart.

mod bad_models;
mod bodies;
mod colliders;
mod glb;
mod reload;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::scene_assets;

/// A test scene `name` in a fresh `--assets` directory: the kickballs ground (a JSON
/// static) without its walls, one ball of radius 0.5 at `(0, 0.5, 0)`, and `models`; and
/// each `(path, bytes)` written under the directory.
pub fn model_scene(name: &str, models: Value, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = scene_assets("kickballs", name, |s| {
        s["statics"] = json!([{
            "name": "ground",
            "shape": {"type": "cuboid", "half_extents": [50, 0.5, 50]},
            "position": [0, -0.5, 0],
            "friction": 0.6,
            "restitution": 0.5
        }]);
        s["balls"] = json!([{
            "id": 0, "radius": 0.5, "mass": 1, "position": [0, 0.5, 0],
            "linear_damping": 0.1, "angular_damping": 0.4, "restitution": 0.8
        }]);
        s["models"] = models;
    });
    for (path, bytes) in files {
        write(&dir, path, bytes);
    }
    dir
}

pub fn write(dir: &Path, path: &str, bytes: &[u8]) {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}
