//! Property tests over the message decoder and command validation (they run in CI with
//! `cargo test`): arbitrary input never panics, and nothing non-finite ever comes out of
//! the decoder or reaches the physics world.

use std::sync::Arc;

use ballroom::protocol::{Command, Inbound, classify_text};
use ballroom::room::{Input, Room, SimConfig};
use ballroom::scene::SceneLibrary;
use proptest::prelude::*;

fn finite(xs: &[f32]) -> bool {
    xs.iter().all(|x| x.is_finite())
}

fn check(cmd: &Command) {
    match cmd {
        Command::Room(Input::Kick(kick)) => {
            assert!(finite(&kick.impulse));
            if let Some(p) = kick.point {
                assert!(finite(&p));
            }
        }
        Command::Room(Input::Pose { position, rotation }) => {
            assert!(finite(position));
            assert!(finite(rotation));
            let norm: f32 = rotation.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-3, "normalised: {rotation:?}");
        }
        _ => {}
    }
}

/// A number as JSON text, from tame to absurd.
fn number() -> BoxedStrategy<String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        (any::<i8>(), -400i32..400).prop_map(|(m, e)| format!("{m}e{e}")),
        Just("1e39".to_owned()),
        Just("-0".to_owned()),
        Just("NaN".to_owned()),
        Just("\"1\"".to_owned()),
        Just("null".to_owned()),
    ]
    .boxed()
}

fn vector() -> BoxedStrategy<String> {
    prop_oneof![
        prop::collection::vec(number(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
        (number(), number(), number(), number())
            .prop_map(|(x, y, z, w)| format!(r#"{{"x":{x},"y":{y},"z":{z},"w":{w}}}"#)),
        (number(), number()).prop_map(|(x, y)| format!(r#"{{"x":{x},"y":{y}}}"#)),
    ]
    .boxed()
}

/// Text shaped like a command (the right fields for its type, sometimes a stray one),
/// with arbitrary values.
fn command_like() -> BoxedStrategy<String> {
    let kick = (
        number(),
        vector(),
        prop::option::of(vector()),
        prop::option::of(number()),
    )
        .prop_map(|(ball, impulse, point, seq)| {
            let point = point.map_or(String::new(), |p| format!(r#","point":{p}"#));
            let seq = seq.map_or(String::new(), |n| format!(r#","seq":{n}"#));
            format!(r#"{{"type":"kick","ball":{ball},"impulse":{impulse}{point}{seq}}}"#)
        });
    let tame_kick = (
        0u32..4,
        -200.0f32..200.0,
        -200.0f32..200.0,
        -200.0f32..200.0,
    )
        .prop_map(|(ball, x, y, z)| {
            format!(r#"{{"type":"kick","ball":{ball},"impulse":[{x},{y},{z}]}}"#)
        });
    let player = (vector(), prop::option::of(vector())).prop_map(|(position, rotation)| {
        let rotation = rotation.map_or(String::new(), |r| format!(r#","rotation":{r}"#));
        format!(r#"{{"type":"player","position":{position}{rotation}}}"#)
    });
    let tame_player = (-30.0f32..30.0, -5.0f32..5.0, -30.0f32..30.0).prop_map(|(x, y, z)| {
        format!(r#"{{"type":"player","position":{{"x":{x},"y":{y},"z":{z}}}}}"#)
    });
    let other = (
        prop::sample::select(vec!["ping", "state", "join_team", "snapshot", "match", "x"]),
        number(),
    )
        .prop_map(|(kind, n)| format!(r#"{{"type":"{kind}","t":{n},"extra":{n}}}"#));
    prop_oneof![
        kick.boxed(),
        tame_kick.boxed(),
        player.boxed(),
        tame_player.boxed(),
        other.boxed()
    ]
    .boxed()
}

#[test]
fn the_generator_reaches_real_commands() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut kicks, mut players) = (0, 0);
    for _ in 0..500 {
        let text = command_like().new_tree(&mut runner).unwrap().current();
        match classify_text(&text) {
            Inbound::Command(Command::Room(Input::Kick(_))) => kicks += 1,
            Inbound::Command(Command::Room(Input::Pose { .. })) => players += 1,
            _ => {}
        }
    }
    assert!(
        kicks > 50 && players > 50,
        "kicks {kicks}, players {players}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn any_text_is_classified_without_panicking(text in any::<String>()) {
        if let Inbound::Command(c) = classify_text(&text) {
            check(&c);
        }
    }

    #[test]
    fn any_bytes_are_classified_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Inbound::Command(c) = classify_text(&text) {
            check(&c);
        }
    }

    #[test]
    fn command_shaped_text_never_yields_a_non_finite_command(text in command_like()) {
        if let Inbound::Command(c) = classify_text(&text) {
            check(&c);
        }
    }

    #[test]
    fn whatever_passes_the_decoder_the_room_validates_and_survives(
        texts in prop::collection::vec(command_like(), 1..20)
    ) {
        let scene = SceneLibrary::builtin().get("kickballs").unwrap();
        let mut room = Room::new(Arc::clone(&scene), SimConfig::default());
        for (i, text) in texts.iter().enumerate() {
            if let Inbound::Command(Command::Room(input)) = classify_text(text) {
                let _ = room.apply(i as u64, input);
            }
            let out = room.tick();
            if let Some(s) = out.snapshot {
                for b in &s.balls {
                    prop_assert!(finite(&b.position) && finite(&b.linvel) && finite(&b.rotation) && finite(&b.angvel));
                }
            }
        }
    }
}
