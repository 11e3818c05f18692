//! Scenes built from models, side by side in one run:
//!
//! - `model_tick/{kickballs,stadium,terrain}`: a room tick with the same work in each (balls
//!   woken every tick, a kick every 2 s): the built-in `kickballs` (primitives only), the
//!   `stadium` of the repository's `assets/` (its walls, boards and goals triangle meshes,
//!   its stands convex hulls, its goal mouths sensors of the model; its match rules left
//!   out, as kickballs has none), and `terrain`:
//!   kickballs with a large triangle mesh under its balls (`TERRAIN_CELLS`² × 2 triangles
//!   over its 16 × 16 m parcel, 4 cm cells: a ball of radius 1 m touches thousands), and
//!   `terrain_coarse`: the same number of triangles over 400 × 400 m (1 m cells);
//! - `mesh_build/trimesh`: the one-time cost of building that mesh's collider
//!   (`SharedShape::trimesh`, which builds its BVH); `mesh_build/scene_load`: the whole
//!   load of the terrain scene from its `.glb` (read, parse, check every triangle, build).
//!
//! After criterion's own report, a summary prints the ratios from the medians it saved.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ballroom::room::{Input, Kick, Room, SimConfig};
use ballroom::scene::{Scene, SceneLibrary};
use criterion::{Criterion, criterion_group};
use rapier3d::glamx::Vec3;
use rapier3d::prelude::SharedShape;
use serde_json::json;

/// Cells along each side of the terrain: 400² × 2 = 320,000 triangles.
const TERRAIN_CELLS: u32 = 400;

/// `s` with kicks allowed every tick from anywhere (the bench kicks without a player) and
/// without match rules (the stadium's would refuse a kick from outside its teams; its goal
/// sensors stay in the world).
fn unlimited(mut s: Scene) -> Arc<Scene> {
    s.rules = None;
    s.rules_source = None;
    s.kick_rules.rate = 1e9;
    s.kick_rules.burst = 1e9;
    s.kick_rules.require_position = false;
    Arc::new(s)
}

fn builtin(name: &str) -> Scene {
    (*SceneLibrary::builtin().get(name).unwrap()).clone()
}

fn stadium() -> Scene {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let load = SceneLibrary::load(Some(&assets), None).unwrap();
    (*load.library.get("stadium").unwrap()).clone()
}

/// The terrain grid over x, z in [from, from + size] (`0, 16`: kickballs' parcel), gently
/// rolling between y = 0 and 0.3, as a `.glb` whose one node is `terrain_collider`.
fn terrain_glb(cells: u32, from: f32, size: f32) -> Vec<u8> {
    let n = cells + 1;
    let mut positions = Vec::with_capacity((n * n * 12) as usize);
    for i in 0..n {
        for j in 0..n {
            let step = size / cells as f32;
            let (x, z) = (from + step * i as f32, from + step * j as f32);
            let y = 0.15 + 0.15 * (x * 0.7).sin() * (z * 0.5).cos();
            for c in [x, y, z] {
                positions.extend_from_slice(&c.to_le_bytes());
            }
        }
    }
    let mut indices = Vec::with_capacity((cells * cells * 24) as usize);
    for i in 0..cells {
        for j in 0..cells {
            let (a, b, c, d) = (
                i * n + j,
                i * n + j + 1,
                (i + 1) * n + j,
                (i + 1) * n + j + 1,
            );
            for v in [a, b, d, a, d, c] {
                indices.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    let doc = json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "terrain_collider", "mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": positions.len() + indices.len()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": positions.len()},
            {"buffer": 0, "byteOffset": positions.len(), "byteLength": indices.len()}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": n * n, "type": "VEC3",
             "min": [from, 0.0, from], "max": [from + size, 0.3, from + size]},
            {"bufferView": 1, "componentType": 5125, "count": cells * cells * 6, "type": "SCALAR"}
        ]
    });
    let mut text = doc.to_string().into_bytes();
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let mut bin = positions;
    bin.extend(indices);
    let mut out = Vec::new();
    let total = 12 + 8 + text.len() + 8 + bin.len();
    for word in [
        0x4654_6c67u32,
        2,
        total as u32,
        text.len() as u32,
        0x4e4f_534a,
    ] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend(text);
    for word in [bin.len() as u32, 0x004e_4942] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend(bin);
    out
}

/// A fresh `--assets` directory holding `models/terrain.glb`, the terrain over x, z in
/// [from, from + size]; the text of a scene of kickballs with it.
fn terrain_assets(from: f32, size: f32) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "ballroom-bench-terrain-{}-{size}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let glb = terrain_glb(TERRAIN_CELLS, from, size);
    std::fs::write(dir.join("models/terrain.glb"), glb).unwrap();
    let mut scene = serde_json::to_value(builtin("kickballs")).unwrap();
    scene["name"] = json!("terrain");
    scene["models"] = json!([{"file": "models/terrain.glb"}]);
    (dir, scene.to_string())
}

/// The kick of tick `n` on one of `balls` balls, alternating directions.
fn kick(n: u64, balls: u64) -> Kick {
    let dir = if n.is_multiple_of(2) { 5.0 } else { -5.0 };
    Kick {
        ball: (n % balls) as u32,
        impulse: [dir, 0.0, 2.0],
        point: None,
        seq: Some(n),
        seen_at: None,
        tick: None,
    }
}

fn ticks(c: &mut Criterion) {
    let (dense, text) = terrain_assets(0.0, 16.0);
    let terrain = Scene::load("terrain", &text, &dense).unwrap();
    let (coarse, text) = terrain_assets(-192.0, 400.0);
    let coarse_terrain = Scene::load("terrain", &text, &coarse).unwrap();
    let mut g = c.benchmark_group("model_tick");
    for (name, scene) in [
        ("kickballs", unlimited(builtin("kickballs"))),
        ("stadium", unlimited(stadium())),
        ("terrain", unlimited(terrain)),
        ("terrain_coarse", unlimited(coarse_terrain)),
    ] {
        g.bench_function(name, |b| {
            let balls = scene.balls.len() as u64;
            let mut room = Room::new(scene.clone(), SimConfig::default());
            let mut n = 0u64;
            b.iter(|| {
                n += 1;
                if n.is_multiple_of(120) {
                    room.apply(1, Input::Kick(kick(n, balls))).unwrap();
                }
                room.wake_all();
                black_box(room.tick());
            })
        });
    }
    g.finish();
    std::fs::remove_dir_all(&dense).unwrap();
    std::fs::remove_dir_all(&coarse).unwrap();
}

fn builds(c: &mut Criterion) {
    let (dir, text) = terrain_assets(0.0, 16.0);
    let mut g = c.benchmark_group("mesh_build");
    g.sample_size(10);
    let n = TERRAIN_CELLS + 1;
    let vertices: Vec<Vec3> = (0..n * n)
        .map(|k| Vec3::new((k / n) as f32, ((k % 7) as f32) * 0.01, (k % n) as f32))
        .collect();
    let indices: Vec<[u32; 3]> = (0..TERRAIN_CELLS)
        .flat_map(|i| (0..TERRAIN_CELLS).map(move |j| (i, j)))
        .flat_map(|(i, j)| {
            let (a, b, c, d) = (
                i * n + j,
                i * n + j + 1,
                (i + 1) * n + j,
                (i + 1) * n + j + 1,
            );
            [[a, b, d], [a, d, c]]
        })
        .collect();
    g.bench_function("trimesh", |b| {
        b.iter(|| black_box(SharedShape::trimesh(vertices.clone(), indices.clone()).unwrap()))
    });
    g.bench_function("scene_load", |b| {
        b.iter(|| black_box(Scene::load("terrain", &text, &dir).unwrap()))
    });
    g.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

criterion_group!(benches, ticks, builds);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    summary();
}

/// Median time in nanoseconds of `group/bench` in this run, if it ran.
fn median(group: &str, bench: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = target
        .join("criterion")
        .join(group)
        .join(bench)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn summary() {
    let Some(base) = median("model_tick", "kickballs") else {
        return; // a filtered or test-mode run
    };
    let triangles = TERRAIN_CELLS * TERRAIN_CELLS * 2;
    println!("\n=== ballroom model summary (criterion medians from this run) ===");
    println!("room tick, kickballs (primitives):      {base:>12.0} ns");
    for (name, what) in [
        ("stadium", "stadium (model colliders)"),
        ("terrain", "kickballs + dense terrain"),
        ("terrain_coarse", "kickballs + coarse terrain"),
    ] {
        if let Some(t) = median("model_tick", name) {
            println!(
                "room tick, {what:<28} {t:>12.0} ns = {:.2} x kickballs",
                t / base
            );
        }
    }
    if let Some(t) = median("mesh_build", "trimesh") {
        println!(
            "build a {triangles}-triangle trimesh:     {:>12.1} ms",
            t / 1e6
        );
    }
    if let Some(t) = median("mesh_build", "scene_load") {
        println!(
            "load the terrain scene from its .glb:    {:>12.1} ms",
            t / 1e6
        );
    }
}
