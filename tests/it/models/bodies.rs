//! Dynamic bodies that are not spheres: a convex hull of a model's mesh and a cuboid rest,
//! slide and stop against a wall as their shapes, not as the balls of their bounding radii.

use std::time::Duration;

use serde_json::{Value, json};

use super::glb::{Node, cuboid, glb};
use super::write;
use crate::support::{Client, ball, config, scene_assets, start, vec3};

/// A scene of the kickballs ground (no walls but one: a box from x = 5 to 5.5) whose only
/// body has `shape`, dropped at `(0, 2, 0)`, and a model `models/crate.glb` holding the
/// node `slab` (2 × 0.5 × 2 m, centred on its origin) that no static uses.
fn body_scene(name: &str, shape: Value) -> std::path::PathBuf {
    let dir = scene_assets("kickballs", name, |s| {
        s["statics"] = json!([
            {"name": "ground", "shape": {"type": "cuboid", "half_extents": [50, 0.5, 50]},
             "position": [0, -0.5, 0], "friction": 0.5, "restitution": 0.1},
            {"name": "wall", "shape": {"type": "cuboid", "half_extents": [0.25, 2, 10]},
             "position": [5.25, 2, 0], "restitution": 0.1}
        ]);
        s["balls"] = json!([{
            "id": 0, "mass": 1, "position": [0, 2, 0], "shape": shape,
            "linear_damping": 0.1, "angular_damping": 0.4, "friction": 0.5, "restitution": 0.1
        }]);
    });
    let slab = Node::mesh("slab", cuboid([-1.0, -0.25, -1.0], [1.0, 0.25, 1.0]));
    write(&dir, "models/crate.glb", &glb(&[slab], &[0]));
    dir
}

/// Snapshots until body 0 sleeps (or `limit` passes); its last state and the largest x its
/// centre reached.
async fn until_asleep(c: &mut Client, limit: Duration) -> (Value, f64) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut furthest = f64::MIN;
    loop {
        let snap = c.recv_type("snapshot").await;
        let b = ball(&snap, 0).clone();
        furthest = furthest.max(vec3(&b["p"])[0]);
        if b["sleeping"] == true || tokio::time::Instant::now() > deadline {
            return (b, furthest);
        }
    }
}

/// Drop the body, check it rests on its face, kick it at the wall, and check it stops with
/// its face at the wall's. `half` is its half-size along x and y.
async fn rests_and_stops_as_its_shape(name: &str, shape: Value, half: f64) -> Value {
    let mut cfg = config();
    cfg.assets = Some(body_scene(name, shape));
    let server = start(cfg).await;
    let (mut c, welcome) = server.protocol(&format!("/{name}?scene={name}")).await;

    let (rest, _) = until_asleep(&mut c, Duration::from_secs(8)).await;
    assert_eq!(
        rest["sleeping"], true,
        "the body never came to rest: {rest}"
    );
    let y = vec3(&rest["p"])[1];
    // A ball of the shape's bounding radius would rest higher (1.44 m for the slab).
    assert!(
        (y - 0.25).abs() < 0.05,
        "the body rests at y = {y:.3}, not on its 0.5 m thick face"
    );

    c.send_json(json!({"type":"kick","ball":0,"impulse":[10,0,0]}))
        .await;
    let (stop, furthest) = until_asleep(&mut c, Duration::from_secs(10)).await;
    assert_eq!(stop["sleeping"], true, "the body never stopped: {stop}");
    // Its face reaches the wall's (x = 5): its centre 5 - half, never further.
    assert!(
        furthest < 5.0 - half + 0.05,
        "the body went into the wall: its centre reached x = {furthest:.3}"
    );
    assert!(
        furthest > 5.0 - half - 0.3,
        "the body stopped at x = {furthest:.3}, short of the wall (as a ball of radius {} would)",
        welcome["scene"]["balls"][0]["radius"]
    );
    server.stop().await;
    welcome
}

#[tokio::test]
async fn a_convex_hull_body_from_a_model_rests_slides_and_collides_as_its_shape() {
    let welcome = rests_and_stops_as_its_shape(
        "hullbody",
        json!({"type": "convex_hull", "file": "models/crate.glb", "node": "slab"}),
        1.0,
    )
    .await;
    // The welcome says the body's shape and where to fetch its model; its radius is the
    // hull's bounding radius.
    let b = &welcome["scene"]["balls"][0];
    assert_eq!(b["shape"]["type"], "convex_hull");
    assert_eq!(b["shape"]["node"], "slab");
    assert_eq!(b["shape"]["url"], "/assets/models/crate.glb");
    let radius = b["radius"].as_f64().unwrap();
    assert!((radius - 1.4361).abs() < 1e-3, "radius {radius}");
}

#[tokio::test]
async fn a_cuboid_body_rests_slides_and_collides_as_its_shape() {
    let welcome = rests_and_stops_as_its_shape(
        "cuboidbody",
        json!({"type": "cuboid", "half_extents": [1.0, 0.25, 1.0]}),
        1.0,
    )
    .await;
    let b = &welcome["scene"]["balls"][0];
    assert_eq!(b["shape"]["type"], "cuboid");
    // Balls without a shape say theirs too: a ball of their radius.
    let (_, kickballs) = {
        let server = start(config()).await;
        let out = server.protocol("/plain").await;
        server.stop().await;
        out
    };
    let plain = &kickballs["scene"]["balls"][0];
    assert_eq!(
        plain["shape"],
        json!({"type": "ball", "radius": plain["radius"]})
    );
}
