//! Every kind of bad model is refused, with the file and the reason, at start and to a
//! client asking for its scene, while the server serves other scenes, good models
//! included.

use std::path::Path;

use serde_json::{Value, json};

use super::glb::{Node, cuboid, glb, pack};
use super::{model_scene, write};
use crate::support::{config, sample, start};

/// A model with one `_collider` node holding `positions` and `indices` as given.
fn raw_mesh(positions: &[[f32; 3]], indices: &[u32]) -> Vec<u8> {
    glb(
        &[Node::mesh(
            "bad_collider",
            (positions.to_vec(), indices.to_vec()),
        )],
        &[0],
    )
}

/// A grid of `n` x `n` squares, two triangles each.
fn grid(n: u32) -> Vec<u8> {
    let mut positions = Vec::new();
    for i in 0..=n {
        for j in 0..=n {
            positions.push([i as f32 * 0.1, 0.0, j as f32 * 0.1]);
        }
    }
    let mut indices = Vec::new();
    let at = |i: u32, j: u32| i * (n + 1) + j;
    for i in 0..n {
        for j in 0..n {
            indices.extend([at(i, j), at(i, j + 1), at(i + 1, j)]);
            indices.extend([at(i + 1, j), at(i, j + 1), at(i + 1, j + 1)]);
        }
    }
    raw_mesh(&positions, &indices)
}

/// Add scene `name`, a copy of the directory's `fine` scene with `models`.
fn add_scene(dir: &Path, name: &str, models: Value) {
    let fine = std::fs::read_to_string(dir.join("scenes/fine.json")).unwrap();
    let mut scene: Value = serde_json::from_str(&fine).unwrap();
    scene["name"] = json!(name);
    scene["models"] = models;
    write(
        dir,
        &format!("scenes/{name}.json"),
        scene.to_string().as_bytes(),
    );
}

#[tokio::test]
async fn each_bad_model_is_refused_with_its_reason_and_other_scenes_are_served() {
    let good = glb(
        &[Node::mesh(
            "wall_collider",
            cuboid([5.0, 0.0, -5.0], [5.5, 4.0, 5.0]),
        )],
        &[0],
    );
    let dir = model_scene(
        "fine",
        json!([{"file": "models/good.glb"}]),
        &[("models/good.glb", &good)],
    );
    let triangle = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
    let mut cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "malformed",
            "models/malformed.glb",
            b"glTF but not really".to_vec(),
            "malformed glTF",
        ),
        (
            "nonfinite",
            "models/nan.glb",
            raw_mesh(
                &[[f32::NAN, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
                &[0, 1, 2],
            ),
            "non-finite coordinate",
        ),
        (
            "absurd",
            "models/far.glb",
            raw_mesh(
                &[[0.0, 0.0, 0.0], [1e7, 0.0, 0.0], [0.0, 0.0, 1.0]],
                &[0, 1, 2],
            ),
            "beyond 100000 m",
        ),
        (
            "degenerate",
            "models/flat.glb",
            raw_mesh(&triangle, &[0, 1, 2, 0, 0, 1]),
            "degenerate triangle 1",
        ),
        (
            "badindex",
            "models/index.glb",
            raw_mesh(&triangle, &[0, 1, 7]),
            "index 7 past its 3 vertices",
        ),
        // 502 x 502 squares: 504,008 triangles, over the scene cap of 500,000.
        (
            "triangles",
            "models/huge.glb",
            grid(502),
            "cap of 500000 triangles",
        ),
    ];
    // A buffer that declares more bytes than the file holds.
    let mut short = serde_json::from_slice::<Value>(
        &good[20..20 + u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize],
    )
    .unwrap();
    short["buffers"][0]["byteLength"] = json!(1_000_000);
    cases.push((
        "shortbuffer",
        "models/short.glb",
        pack(&short, &[0; 16]),
        "holds 16 bytes but declares 1000000",
    ));
    for (name, file, bytes, _) in &cases {
        write(&dir, file, bytes);
        add_scene(&dir, name, json!([{"file": file}]));
    }
    // Over the size cap (a sparse file: its size, not its contents, is refused).
    std::fs::File::create(dir.join("models/big.glb"))
        .unwrap()
        .set_len(33 << 20)
        .unwrap();
    add_scene(&dir, "toolarge", json!([{"file": "models/big.glb"}]));
    // Missing, and out of the assets directory (the file exists beside it).
    add_scene(&dir, "missing", json!([{"file": "models/none.glb"}]));
    std::fs::write(dir.with_extension("outside.glb"), &good).unwrap();
    let outside = format!(
        "../{}",
        dir.with_extension("outside.glb")
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
    );
    add_scene(&dir, "escape", json!([{"file": outside}]));
    add_scene(&dir, "absolute", json!([{"file": "/etc/passwd.glb"}]));
    add_scene(
        &dir,
        "badscale",
        json!([{"file": "models/good.glb", "scale": [0, 1, 1]}]),
    );
    let more = [
        (
            "toolarge",
            "models/big.glb",
            "over the cap of 33554432 bytes",
        ),
        ("missing", "models/none.glb", "cannot be read"),
        ("escape", outside.as_str(), "inside the assets directory"),
        ("absolute", "/etc/passwd.glb", "inside the assets directory"),
        ("badscale", "models/good.glb", "a scale outside"),
    ];

    let mut cfg = config();
    cfg.assets = Some(dir.clone());
    let server = start(cfg).await;
    let expected = cases
        .iter()
        .map(|(n, f, _, r)| (*n, *f, *r))
        .chain(more.iter().copied());
    for (name, file, reason) in expected {
        let mut c = server.plain(&format!("/{name}?scene={name}")).await;
        let err = c.next_json().await;
        assert_eq!(err["code"], "unknown_scene", "{name}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("model `{file}`")) && message.contains(reason),
            "{name}: expected the file `{file}` and `{reason}` in: {message}"
        );
    }
    // The good model's scene is served all along, by the same server.
    let (_c, welcome) = server.protocol("/ok?scene=fine").await;
    assert_eq!(
        welcome["scene"]["models"][0]["url"],
        "/assets/models/good.glb"
    );
    let (_, metrics) = server.get("/metrics").await;
    let failed = sample(&metrics, "ballroom_scene_loads_total", r#"result="failed""#).unwrap();
    assert!(failed >= 12.0, "{failed}");
    server.stop().await;
}
