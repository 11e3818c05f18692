//! Scenes: the built-ins, bad files, `--assets`, models and body shapes.

use super::*;

#[test]
fn builtin_scenes_load_and_match_the_brief() {
    let lib = SceneLibrary::builtin();
    assert_eq!(
        lib.names().collect::<Vec<_>>(),
        ["football", "keepy-uppy", "kickballs", "relay"]
    );
    let k = lib.get("kickballs").unwrap();
    assert_eq!(k.balls.len(), 3);
    for b in &k.balls {
        assert_eq!((b.radius, b.mass), (1.0, 5.0));
        assert_eq!((b.linear_damping, b.angular_damping), (0.4, 0.4));
        assert!(b.restitution > 0.0);
    }
    assert_eq!(k.gravity, [0.0, -9.82, 0.0]);
    assert!(
        k.max_impulse >= 100.0,
        "must allow the kick scene's 100 N·s"
    );
    let f = lib.get("football").unwrap();
    assert_eq!(f.balls.len(), 1);
    assert_eq!(f.statics.iter().filter(|s| s.sensor).count(), 2);
    assert!(!lib.get("relay").unwrap().has_physics());
    assert_eq!(f.rules.as_deref(), Some("rules/football.js"));
    assert!(
        f.rules_source
            .as_deref()
            .is_some_and(|s| s.contains("export default"))
    );
    let options = f.rules_options.as_ref().expect("football's settings");
    assert_eq!(options["duration"], 300);
    assert_eq!(options["goals"].as_object().unwrap().len(), 2);
    assert!(f.kick_rules.require_position);
    assert!(k.rules.is_none());
    assert_eq!(k.kick_rules, KickRules::default());
}

#[test]
fn bad_scenes_are_refused_with_a_reason() {
    let err = Scene::from_json("x", r#"{"name":"y"}"#).unwrap_err();
    assert!(err.to_string().contains("declares name `y`"), "{err}");
    let err = Scene::from_json(
        "x",
        r#"{"name":"x","balls":[{"id":0,"radius":-1,"mass":1,"position":[0,0,0]}]}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("radius must be a positive"),
        "{err}"
    );
    let ball = r#"[{"id":0,"radius":1,"mass":1,"position":[0,0,0]}]"#;
    for (rules, why) in [
        (
            r#""rules/nowhere.js""#,
            "rules `rules/nowhere.js`: no such file",
        ),
        (r#""../secrets.js""#, "name a file `rules/NAME.js`"),
    ] {
        let text = format!(r#"{{"name":"x","balls":{ball},"rules":{rules}}}"#);
        let err = Scene::from_json("x", &text).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let err = Scene::from_json("x", r#"{"name":"x","rules":"rules/football.js"}"#).unwrap_err();
    assert!(
        err.to_string().contains("rules need a scene with balls"),
        "{err}"
    );
    let text =
        format!(r#"{{"name":"x","balls":{ball},"rules":"rules/football.js","rules_options":3}}"#);
    let err = Scene::from_json("x", &text).unwrap_err();
    assert!(err.to_string().contains("must be a JSON object"), "{err}");
    let err = Scene::from_json("x", r#"{"name":"x","bogus":1}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn assets_dir_adds_and_overrides() {
    let dir = std::env::temp_dir().join(format!("ballroom-scenes-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("scenes")).unwrap();
    std::fs::write(
        dir.join("scenes/relay.json"),
        r#"{"name":"relay","description":"overridden"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("scenes/mine.json"), r#"{"name":"mine"}"#).unwrap();
    let lib = SceneLibrary::load(Some(&dir), None).unwrap().library;
    assert_eq!(lib.get("relay").unwrap().description, "overridden");
    assert!(lib.get("mine").is_some());
    assert!(lib.get("kickballs").is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The repository's own `assets/` directory, as `--assets`.
fn repo_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

#[test]
fn the_stadium_is_built_from_its_model() {
    let load = SceneLibrary::load(Some(&repo_assets()), None).unwrap();
    assert!(load.failures.is_empty(), "{:?}", load.failures);
    let stadium = load.library.get("stadium").unwrap();
    let g = &stadium.geometry;
    let sensors: Vec<_> = g.sensor_names().collect();
    assert_eq!(sensors.len(), 2, "{sensors:?}");
    assert!(sensors.contains(&"goal_blue") && sensors.contains(&"goal_red"));
    assert!(g.colliders.len() > 10 && g.triangles > 100, "{g:?}");
    // The box around its colliders, which the binary snapshots' bounds take in.
    let [lo, hi] = stadium.models[0].bounds.unwrap();
    assert!(
        lo[0] < -15.0 && hi[0] > 15.0 && lo[2] < -10.0 && hi[2] > 10.0,
        "{lo:?} {hi:?}"
    );
    let url = stadium.models[0].url.as_deref().unwrap();
    assert_eq!(url, "/assets/models/stadium.glb");
    let file = load.library.file(url).unwrap();
    assert_eq!(file.content_type, "model/gltf-binary");
    // Rooms share the scene's shapes: the same Arc, not a copy.
    let again = load.library.get("stadium").unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &again.geometry.colliders,
        &g.colliders
    ));
}

#[test]
fn models_need_an_assets_directory() {
    let err = Scene::from_json("x", r#"{"name":"x","models":[{"file":"m.glb"}]}"#).unwrap_err();
    assert!(err.to_string().contains("--assets"), "{err}");
}

#[test]
fn body_shapes_set_the_radius_and_bad_ones_are_refused() {
    let scene = |shape: &str| {
        format!(
            r#"{{"name":"x","balls":[{{"id":0,"mass":1,"position":[0,1,0],"shape":{shape}}}]}}"#
        )
    };
    let s = Scene::from_json("x", &scene(r#"{"type":"cuboid","half_extents":[3,4,12]}"#)).unwrap();
    assert_eq!(s.balls[0].radius, 13.0);
    let s = Scene::from_json(
        "x",
        &scene(r#"{"type":"capsule","half_height":1,"radius":0.5}"#),
    )
    .unwrap();
    assert_eq!(s.balls[0].radius, 1.5);
    let err = Scene::from_json(
        "x",
        &scene(r#"{"type":"cylinder","half_height":0,"radius":1}"#),
    )
    .unwrap_err();
    assert!(err.to_string().contains("must be positive"), "{err}");
    let hull = r#"{"type":"convex_hull","file":"m.glb","node":"n"}"#;
    let err = Scene::from_json("x", &scene(hull)).unwrap_err();
    assert!(err.to_string().contains("--assets"), "{err}");
    // Under --assets: the model's node must exist.
    let dir = std::env::temp_dir().join(format!("ballroom-hull-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("models")).unwrap();
    std::fs::copy(repo_assets().join("models/stadium.glb"), dir.join("m.glb")).unwrap();
    let err = Scene::load("x", &scene(hull), &dir).unwrap_err();
    assert!(
        err.to_string()
            .contains("model `m.glb`: node `n`: no node of this name"),
        "{err}"
    );
    let err = Scene::load(
        "x",
        &scene(r#"{"type":"convex_hull","file":"../m.glb","node":"n"}"#),
        &dir,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("inside the assets directory"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
