//! The rules engine: hooks, verdicts, actions, the sandbox's limits and failures, loading.

use std::time::Duration;

use serde_json::json;

use super::*;

pub(super) const FILE: &str = "rules/test.js";

/// Generous on time, so a busy machine does not fail the tests that are not about it;
/// those that are use `RulesLimits::default()`.
pub(super) fn limits() -> RulesLimits {
    RulesLimits {
        time: Duration::from_secs(1),
        ..RulesLimits::default()
    }
}

pub(super) fn load_with(source: &str, limits: RulesLimits) -> Rules {
    Rules::load(FILE, source, 7, limits).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn load(source: &str) -> Rules {
    match Rules::load(FILE, source, 7, limits()) {
        Ok(rules) => rules,
        Err(e) => panic!("{e}"),
    }
}

pub(super) fn load_err(source: &str) -> LoadProblem {
    match Rules::load(FILE, source, 7, limits()) {
        Ok(_) => panic!("loaded: {source}"),
        Err(e) => {
            assert_eq!(e.file, FILE);
            assert!(e.to_string().contains(FILE), "{e}");
            e.problem
        }
    }
}

pub(super) fn client(id: ClientId) -> ClientView {
    ClientView {
        id,
        team: None,
        spectator: false,
        position: Some([0.0, 0.0, 1.0]),
    }
}

pub(super) fn view(tick: u64) -> RoomView {
    RoomView {
        tick,
        time: tick as f64 / 10.0,
        clients: vec![client(1), client(2)],
        balls: vec![BallView {
            id: 0,
            position: [0.0, 0.5, 0.0],
            velocity: [0.0; 3],
            sleeping: true,
        }],
    }
}

pub(super) fn kick(client: ClientId) -> Hook {
    Hook::Kick(KickView {
        client,
        ball: 0,
        impulse: [1.0, 0.0, 0.0],
        point: None,
    })
}

pub(super) fn message(name: &str, data: serde_json::Value) -> Hook {
    Hook::Message {
        client: client(1),
        name: name.to_owned(),
        data,
    }
}

/// The data of every broadcast named `name`.
pub(super) fn broadcasts(outcome: &HookOutcome, name: &str) -> Vec<serde_json::Value> {
    outcome
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Broadcast { name: n, data } if n == name => Some(data.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn ok(outcome: HookOutcome) -> HookOutcome {
    assert_eq!(outcome.failure, None, "{outcome:?}");
    outcome
}

#[test]
fn rules_are_send() {
    fn send<T: Send>() {}
    send::<Rules>();
}

#[test]
fn a_kick_is_accepted_refused_with_or_without_reason_or_changed() {
    let mut rules = load(
        r#"export default {
            onKick(room, kick) {
                switch (kick.client) {
                    case 1: return;
                    case 2: return true;
                    case 3: return false;
                    case 4: return { refuse: "offside" };
                    case 5: return { impulse: [kick.impulse[0] * 2, 3, 4] };
                    case 6: return { impulse: [NaN, 0, 0] };
                    case 7: return "yes";
                    default: return { refuse: "x", impulse: [0, 0, 0] };
                }
            },
        };"#,
    );
    let verdict = |rules: &mut Rules, c| rules.call(kick(c), &view(0));
    assert_eq!(ok(verdict(&mut rules, 1)).verdict, KickVerdict::Accept);
    assert_eq!(ok(verdict(&mut rules, 2)).verdict, KickVerdict::Accept);
    assert_eq!(
        ok(verdict(&mut rules, 3)).verdict,
        KickVerdict::Refuse(REFUSED_BY_RULES.into())
    );
    assert_eq!(
        ok(verdict(&mut rules, 4)).verdict,
        KickVerdict::Refuse("offside".into())
    );
    assert_eq!(
        ok(verdict(&mut rules, 5)).verdict,
        KickVerdict::Change([2.0, 3.0, 4.0])
    );
    for bad in [6, 7, 8] {
        let outcome = verdict(&mut rules, bad);
        assert_eq!(outcome.verdict, KickVerdict::Refuse(RULES_FAILED.into()));
        assert!(
            matches!(
                outcome.failure,
                Some(HookFailure::BadReturn { hook: "onKick", .. })
            ),
            "{outcome:?}"
        );
    }
}

#[test]
fn a_module_without_a_hook_accepts_and_asks_for_nothing() {
    let mut rules = load("export default {};");
    let outcome = rules.call(kick(1), &view(0));
    assert_eq!(outcome, HookOutcome::empty());
    assert_eq!(rules.tick_rate(), None);
    assert_eq!(rules.tick_every(60.0), None);
}

#[test]
fn actions_come_back_in_order() {
    let mut rules = load(
        r#"export default {
            onMessage(room, client, name, data) {
                room.resetBall(0);
                room.resetBall(0, [1, 2, 3]);
                room.applyImpulse(0, [0, 5, 0]);
                room.setTeam(client.id, "red");
                room.setTeam(2, null);
                room.send(client.id, "hello", { you: client.id, name, data });
                room.broadcast("news");
                room.setState({ n: room.clients().length, balls: room.balls() });
                room.end({ winner: "red" });
            },
        };"#,
    );
    let outcome = ok(rules.call(message("hi", json!([1, "two"])), &view(3)));
    let state = json!({"n": 2, "balls": [{"id": 0, "position": [0, 0.5, 0], "velocity": [0, 0, 0], "sleeping": true}]});
    assert_eq!(
        outcome.actions,
        [
            Action::ResetBall {
                ball: 0,
                position: None
            },
            Action::ResetBall {
                ball: 0,
                position: Some([1.0, 2.0, 3.0])
            },
            Action::ApplyImpulse {
                ball: 0,
                impulse: [0.0, 5.0, 0.0]
            },
            Action::SetTeam {
                client: 1,
                team: Some(Team::Red)
            },
            Action::SetTeam {
                client: 2,
                team: None
            },
            Action::Send {
                client: 1,
                name: "hello".into(),
                data: json!({"you": 1, "name": "hi", "data": [1, "two"]})
            },
            Action::Broadcast {
                name: "news".into(),
                data: serde_json::Value::Null
            },
            Action::SetState(state.clone()),
            Action::End(json!({"winner": "red"})),
        ]
    );
    assert_eq!(rules.state(), Some(&state));
}

#[test]
fn room_state_is_the_last_state_set_and_a_restored_one() {
    let source = r#"export default {
        onStart(room) { room.broadcast("seen", room.state); },
        onTick(room) {
            const s = room.state ?? { n: 0 };
            s.n += 1;
            room.setState(s);
            s.n += 100; // changing the object given afterwards changes nothing
        },
    };
    export const tickRate = 5;"#;
    let mut rules = load(source);
    assert_eq!(rules.tick_every(60.0), Some(12));
    assert_eq!(rules.tick_every(2.0), Some(1), "never more than every tick");
    ok(rules.call(Hook::Tick, &view(1)));
    ok(rules.call(Hook::Tick, &view(2)));
    assert_eq!(rules.state(), Some(&json!({"n": 2})));

    let mut again = load(source);
    again.restore_state(json!({"n": 41})).unwrap();
    let outcome = ok(again.call(Hook::Start, &view(3)));
    assert_eq!(broadcasts(&outcome, "seen"), [json!({"n": 41})]);
    ok(again.call(Hook::Tick, &view(4)));
    assert_eq!(again.state(), Some(&json!({"n": 42})));
}

#[test]
fn a_hook_that_throws_fails_alone() {
    let mut rules = load(
        r#"export default {
            onStart(room) { room.setState({ good: true }); },
            onMessage(room, client, name) {
                room.broadcast("before");
                room.setState({ good: false });
                if (name === "boom") throw new Error("boom");
                if (name === "string") throw "just a string";
                room.broadcast("state", room.state);
            },
        };"#,
    );
    ok(rules.call(Hook::Start, &view(0)));
    let outcome = rules.call(message("boom", json!(null)), &view(1));
    assert_eq!(outcome.actions, []);
    let Some(HookFailure::Threw {
        hook,
        message: text,
    }) = &outcome.failure
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(*hook, "onMessage");
    assert!(text.starts_with("Error: boom"), "{text}");
    assert!(text.contains(FILE), "where it threw: {text}");
    assert_eq!(rules.state(), Some(&json!({"good": true})), "state undone");

    let outcome = rules.call(message("string", json!(null)), &view(2));
    assert!(
        matches!(&outcome.failure, Some(HookFailure::Threw { message: m, .. }) if m.contains("just a string")),
        "{outcome:?}"
    );

    // The next call runs, and sees the state as it was before the failed calls.
    let outcome = ok(rules.call(message("fine", json!(null)), &view(3)));
    assert_eq!(broadcasts(&outcome, "state"), [json!({"good": false})]);
    assert_eq!(rules.state(), Some(&json!({"good": false})));
}

#[test]
fn bad_arguments_throw_in_the_script() {
    let mut rules = load(
        r#"const attempts = {
            bigData: (room) => room.broadcast("big", "x".repeat(16 * 1024)),
            bigState: (room) => room.setState({ s: "x".repeat(64 * 1024) }),
            bigResult: (room) => room.end("x".repeat(16 * 1024)),
            badName: (room) => room.broadcast("has space", 1),
            longName: (room) => room.broadcast("n".repeat(33), 1),
            numberName: (room) => room.send(1, 5, 1),
            notJson: (room) => room.broadcast("f", () => 1),
            cycle: (room) => { const a = {}; a.a = a; room.broadcast("c", a); },
            nan: (room) => room.applyImpulse(0, [NaN, 0, 0]),
            huge: (room) => room.applyImpulse(0, [1e300, 0, 0]),
            short: (room) => room.resetBall(0, [1, 2]),
            noBall: (room) => room.resetBall(9),
            fracBall: (room) => room.resetBall(0.5),
            noClient: (room) => room.send(99, "x", 1),
            badTeam: (room) => room.setTeam(1, "green"),
        };
        export default {
            onMessage(room, client, name) {
                if (name === "many") {
                    try { for (let i = 0; i < 300; i++) room.broadcast("n", i); }
                    catch (e) { throw new Error(`caught ${e.name}`); }
                }
                const seen = {};
                for (const [what, attempt] of Object.entries(attempts)) {
                    try { attempt(room); seen[what] = "passed"; } catch (e) { seen[what] = e.name; }
                }
                room.setState(seen);
            },
        };"#,
    );
    let outcome = ok(rules.call(message("go", json!(null)), &view(0)));
    let seen = rules.state().cloned().unwrap();
    for (what, error) in [
        ("bigData", "RangeError"),
        ("bigState", "RangeError"),
        ("bigResult", "RangeError"),
        ("badName", "TypeError"),
        ("longName", "TypeError"),
        ("numberName", "TypeError"),
        ("notJson", "TypeError"),
        ("cycle", "TypeError"),
        ("nan", "RangeError"),
        ("huge", "RangeError"),
        ("short", "TypeError"),
        ("noBall", "RangeError"),
        ("fracBall", "RangeError"),
        ("noClient", "RangeError"),
        ("badTeam", "TypeError"),
    ] {
        assert_eq!(seen[what], json!(error), "{what}: {seen}");
    }
    assert_eq!(
        outcome.actions,
        [Action::SetState(seen)],
        "nothing else passed"
    );
    // At most MAX_ACTIONS: the next one throws (and the hook's failure drops them all).
    let outcome = rules.call(message("many", json!(null)), &view(1));
    assert!(
        matches!(&outcome.failure, Some(HookFailure::Threw { message: m, .. }) if m.contains("caught RangeError")),
        "{outcome:?}"
    );
    assert_eq!(outcome.actions, []);
}

#[test]
fn an_async_hook_is_a_bad_return() {
    let mut rules = load("export default { async onTick(room) {} };");
    let outcome = rules.call(Hook::Tick, &view(0));
    assert!(
        matches!(
            outcome.failure,
            Some(HookFailure::BadReturn { hook: "onTick", .. })
        ),
        "{outcome:?}"
    );
}

#[test]
fn rules_move_between_threads() {
    let mut rules = load(
        r#"function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }
        export default { onTick(room) { room.broadcast("d", depth(1000)); } };"#,
    );
    ok(rules.call(Hook::Tick, &view(0)));
    let mut rules = std::thread::spawn(move || {
        ok(rules.call(Hook::Tick, &view(1)));
        rules
    })
    .join()
    .unwrap();
    let outcome = ok(rules.call(Hook::Tick, &view(2)));
    assert_eq!(broadcasts(&outcome, "d"), [json!(1000)]);
}

#[test]
fn keepy_uppy_counts_touches_while_the_ball_is_up() {
    let source = include_str!("../../assets/rules/keepy-uppy.js");
    let mut rules = load(source);
    let at = |tick: u64, y: f32| {
        let mut v = view(tick);
        v.balls.push(BallView {
            id: 1,
            position: [3.0, 0.5, 0.0],
            velocity: [0.0; 3],
            sleeping: true,
        });
        v.balls[0].position[1] = y;
        v
    };
    let player = |rules: &Rules, id: u64| rules.state().unwrap()["players"][id.to_string()].clone();
    ok(rules.call(Hook::Start, &at(0, 0.3)));
    ok(rules.call(kick(1), &at(0, 0.3)));
    ok(rules.call(Hook::Tick, &at(1, 0.3)));
    assert_eq!(
        player(&rules, 1)["touches"],
        json!(1),
        "just kicked: still rising"
    );
    for tick in 2..10 {
        ok(rules.call(Hook::Tick, &at(tick, 2.0)));
    }
    ok(rules.call(kick(1), &at(10, 1.0)));
    ok(rules.call(kick(1), &at(12, 1.5)));
    assert_eq!(player(&rules, 1)["touches"], json!(3));
    ok(rules.call(Hook::Tick, &at(20, 0.3)));
    let p = player(&rules, 1);
    assert_eq!(
        (p["touches"].clone(), p["best"].clone()),
        (json!(0), json!(3)),
        "landed"
    );
    // A new ball is a new run; the best stays.
    let mut other = kick(1);
    if let Hook::Kick(k) = &mut other {
        k.ball = 1;
    }
    ok(rules.call(other, &at(30, 0.3)));
    let p = player(&rules, 1);
    assert_eq!(
        (p["ball"].clone(), p["touches"].clone(), p["best"].clone()),
        (json!(1), json!(1), json!(3))
    );
    ok(rules.call(Hook::Leave(client(1)), &at(31, 0.3)));
    assert_eq!(player(&rules, 1), serde_json::Value::Null);
}
