//! Colliders and sensors from models, and the model files clients fetch.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::glb::{Node, cuboid, glb};
use super::model_scene;
use crate::support::{Server, ball, config, start, vec3};

/// A wall 4 m high across the ball's path, at x from 5 to 5.5 m in the scene: a box
/// node named `wall_collider` at x 0 to 0.5 under a parent moved 3 m along x, in a model
/// placed 2 m further along x. Nothing else in the scene stops the ball.
fn wall_model() -> Vec<u8> {
    let wall = Node::mesh("wall_collider", cuboid([0.0, 0.0, -5.0], [0.5, 4.0, 5.0]));
    let group = Node::group("walls", [3.0, 0.0, 0.0], vec![0]);
    glb(&[wall, group], &[1])
}

async fn wall_server() -> Server {
    let dir = model_scene(
        "wallball",
        json!([{"file": "models/wall.glb", "position": [2, 0, 0]}]),
        &[("models/wall.glb", &wall_model())],
    );
    let mut cfg = config();
    cfg.assets = Some(dir);
    start(cfg).await
}

#[tokio::test]
async fn a_ball_kicked_at_a_wall_that_is_only_a_model_mesh_bounces_off_it() {
    let server = wall_server().await;
    let (mut c, welcome) = server.protocol("/wall?scene=wallball").await;
    // The welcome names the model and where to fetch it, not its triangles.
    let model = &welcome["scene"]["models"][0];
    assert_eq!(model["url"], "/assets/models/wall.glb");
    assert_eq!(model["position"], json!([2.0, 0.0, 0.0]));
    c.send_json(json!({"type":"kick","ball":0,"impulse":[20,0,0]}))
        .await;
    let (mut furthest, mut back) = (0.0f64, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < deadline && !back {
        let snap = c.recv_type("snapshot").await;
        let b = ball(&snap, 0);
        let (p, v) = (vec3(&b["p"]), vec3(&b["v"]));
        furthest = furthest.max(p[0]);
        back = furthest > 3.0 && v[0] < -1.0;
    }
    // The ball's surface stops at the wall's face (x = 5): its centre at 4.5.
    assert!(back, "the ball never came back (furthest x {furthest:.2})");
    assert!(
        furthest < 4.6,
        "the ball passed into the wall: its centre reached x = {furthest:.3}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_model_file_is_served_with_its_type_and_etag() {
    let server = wall_server().await;
    // (HEAD: the harness reads bodies as text, and a model is binary.)
    let (status, headers, _) = server.request("HEAD", "/assets/models/wall.glb", "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "model/gltf-binary");
    assert_eq!(headers["content-length"], wall_model().len().to_string());
    let etag = headers["etag"].clone();
    let (status, _, _) = server
        .request(
            "HEAD",
            "/assets/models/wall.glb",
            &format!("If-None-Match: {etag}\r\n"),
        )
        .await;
    assert_eq!(status, 304);
    // Behind a proxy that forwards its prefix whole, the viewer at `/broadcast/` asks for
    // the model by a relative URL.
    let (status, headers, _) = server
        .request("HEAD", "/broadcast/assets/models/wall.glb", "")
        .await;
    assert_eq!((status, &headers["etag"]), (200, &etag));
    // Only files a loaded scene names are served: not the scene files, not a path out.
    for path in [
        "/assets/scenes/wallball.json",
        "/assets/models/../scenes/wallball.json",
        "/assets/models/none.glb",
        "/broadcast/assets/scenes/wallball.json",
    ] {
        assert_eq!(server.get(path).await.0, 404, "{path}");
    }
    server.stop().await;
}

/// The stadium of the repository's `assets/`: its goal mouths are sensors of the model.
#[tokio::test(start_paused = true)]
async fn a_goal_is_scored_through_a_sensor_of_the_stadium_model() {
    let mut cfg = config();
    cfg.assets = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"));
    cfg.ping_interval = Duration::from_secs(3600);
    cfg.idle_timeout = Duration::from_secs(7200);
    let server = start(cfg).await;
    let long = Duration::from_secs(60);
    let (mut blue, wb) = server.protocol("/final?scene=stadium").await;
    let (mut red, wr) = server.protocol("/final").await;
    assert_eq!(
        wb["scene"]["models"][0]["url"],
        "/assets/models/stadium.glb"
    );
    assert!(
        wb["scene"]["statics"]
            .as_array()
            .is_none_or(|s| s.is_empty()),
        "every collider of the stadium comes from its model"
    );
    blue.send_json(json!({"type":"join_team","team":"blue"}))
        .await;
    red.send_json(json!({"type":"join_team","team":"red"}))
        .await;
    red.recv_until_within(long, |m| {
        m["type"] == "rules_state" && m["state"]["phase"] == "playing"
    })
    .await;
    red.send_json(json!({"type":"player","position":[0.9,0,0]}))
        .await;
    red.send_json(json!({"type":"kick","ball":0,"impulse":[-25,0,0]}))
        .await;
    let goal = red
        .recv_until_within(long, |m| m["type"] == "message" && m["name"] == "goal")
        .await["data"]
        .clone();
    assert_eq!(goal["team"], "red");
    assert_eq!(goal["scorer"], wr["client"]);
    server.stop().await;
}
