//! Scene files and models changed on disk are loaded for rooms created afterwards (here by
//! the poll of `--assets`); running rooms keep the scene they started with, and a file
//! that fails keeps the previous version.

use std::time::Duration;

use serde_json::{Value, json};

use super::glb::{Node, cuboid, glb};
use super::{model_scene, write};
use crate::support::{Server, config, eventually, eventually_within, start};

fn wall_at(x: f32) -> Vec<u8> {
    glb(
        &[Node::mesh(
            "wall_collider",
            cuboid([x, 0.0, -5.0], [x + 0.5, 4.0, 5.0]),
        )],
        &[0],
    )
}

/// The welcome of a new client of room `room`.
async fn welcome(server: &Server, room: &str) -> Value {
    server.protocol(&format!("/{room}?scene=edited")).await.1
}

/// Open fresh rooms until one's welcome passes `done` (bounded).
async fn new_room_until(server: &Server, done: impl Fn(&Value) -> bool) -> Value {
    let mut i = 0;
    eventually_within(
        "a new room seeing the change",
        Duration::from_secs(10),
        || {
            i += 1;
            let room = format!("fresh{i}");
            let done = &done;
            async move {
                let w = welcome(server, &room).await;
                done(&w).then_some(w)
            }
        },
    )
    .await
}

async fn etag(server: &Server) -> String {
    let (status, headers, _) = server.request("HEAD", "/assets/models/wall.glb", "").await;
    assert_eq!(status, 200);
    headers["etag"].clone()
}

#[tokio::test]
async fn an_edited_scene_changes_new_rooms_but_not_running_ones() {
    let dir = model_scene(
        "edited",
        json!([{"file": "models/wall.glb"}]),
        &[("models/wall.glb", &wall_at(5.0))],
    );
    let mut cfg = config();
    cfg.assets = Some(dir.clone());
    cfg.assets_reload_interval = Duration::from_millis(100);
    let server = start(cfg).await;
    let (_keep, before) = server.protocol("/running?scene=edited").await;
    let original = before["scene"]["description"].clone();
    assert_ne!(original, "edited on disk");
    let tag_before = etag(&server).await;

    // Edit the scene file and the model.
    let path = dir.join("scenes/edited.json");
    let mut scene: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    scene["description"] = json!("edited on disk");
    write(&dir, "scenes/edited.json", scene.to_string().as_bytes());
    write(&dir, "models/wall.glb", &wall_at(8.0));
    let after = new_room_until(&server, |w| w["scene"]["description"] == "edited on disk").await;
    assert_eq!(
        after["scene"]["models"][0]["url"],
        "/assets/models/wall.glb"
    );
    assert_ne!(etag(&server).await, tag_before, "the new model is served");
    // The running room keeps the scene it started with.
    let running = welcome(&server, "running").await;
    assert_eq!(running["scene"]["description"], original);

    // A broken edit is refused; new rooms keep the last good version.
    write(&dir, "scenes/edited.json", b"{ not json");
    write(&dir, "models/wall.glb", b"not a model");
    let s = &server;
    eventually(
        "the broken edit's reload counted as failed",
        || async move {
            let (_, metrics) = s.get("/metrics").await;
            metrics
                .contains("ballroom_scene_loads_total{result=\"failed\"}")
                .then_some(())
        },
    )
    .await;
    let kept = welcome(&server, "after-broken").await;
    assert_eq!(kept["scene"]["description"], "edited on disk");
    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("ballroom_scene_loads_total{result=\"failed\"}"));
    server.stop().await;
}
