//! The rules sandbox: its time and memory limits, its reproducible globals, what it leaves
//! out, and loading (the engine's other tests are in `tests.rs`).

use std::time::{Duration, Instant};

use serde_json::json;

use super::tests::{
    FILE, broadcasts, client, kick, limits, load, load_err, load_with, message, ok, view,
};
use super::*;
#[test]
fn an_endless_loop_times_out_within_budget_and_the_next_call_works() {
    let mut rules = load_with(
        r#"export default {
            onTick(room) { for (;;) {} },
            onMessage(room) { try { for (;;) {} } catch (e) { room.broadcast("caught"); } },
            onKick(room, kick) { room.broadcast("kick", kick.client); return { refuse: "later" }; },
        };
        export const tickRate = 10;"#,
        RulesLimits::default(),
    );
    let budget = RulesLimits::default().time;
    for hook in [Hook::Tick, message("loop", json!(null))] {
        let started = Instant::now();
        let outcome = rules.call(hook, &view(1));
        let took = started.elapsed();
        assert!(
            matches!(outcome.failure, Some(HookFailure::TimedOut { budget: b, .. }) if b == budget),
            "{outcome:?}"
        );
        assert_eq!(outcome.actions, [], "an interrupt cannot be caught");
        assert!(
            took < budget + Duration::from_millis(100),
            "stopped after {took:?}"
        );
        let outcome = ok(rules.call(kick(2), &view(2)));
        assert_eq!(outcome.verdict, KickVerdict::Refuse("later".into()));
        assert_eq!(broadcasts(&outcome, "kick"), [json!(2)]);
    }
    // A timed-out onKick refuses the kick.
    let mut rules = load_with(
        "export default { onKick() { while (true) {} } };",
        RulesLimits::default(),
    );
    let outcome = rules.call(kick(1), &view(0));
    assert_eq!(outcome.verdict, KickVerdict::Refuse(RULES_FAILED.into()));
}

#[test]
fn endless_allocation_hits_the_memory_cap_and_the_next_call_works() {
    let small = RulesLimits {
        memory: 8 * 1024 * 1024,
        // Filling 8 MiB takes well under a second; the cap, not the clock, must stop it.
        time: Duration::from_secs(5),
    };
    let mut rules = Rules::load(
        FILE,
        r#"let kept = [];
        export default {
            onTick(room) { const hog = []; for (;;) hog.push(new Array(4096).fill(room.tick)); },
            onJoin(room) { for (;;) kept.push("x".repeat(65536) + kept.length); },
            onMessage(room) {
                const a = new Array(100000).fill(1);
                room.broadcast("sum", a.reduce((x, y) => x + y, 0));
            },
        };
        export const tickRate = 1;"#,
        7,
        small,
    )
    .unwrap();
    for round in 0..3 {
        let outcome = rules.call(Hook::Tick, &view(round));
        assert_eq!(
            outcome.failure,
            Some(HookFailure::OutOfMemory {
                hook: "onTick",
                limit: small.memory
            }),
            "round {round}"
        );
        let outcome = ok(rules.call(message("m", json!(null)), &view(round)));
        assert_eq!(broadcasts(&outcome, "sum"), [json!(100000)]);
    }
    // Memory the module keeps is not freed by a failure: it stays full, but the failure
    // is still typed and nothing crashes.
    let outcome = rules.call(Hook::Join(client(1)), &view(9));
    assert!(
        matches!(outcome.failure, Some(HookFailure::OutOfMemory { .. })),
        "{outcome:?}"
    );
}

#[test]
fn deep_recursion_is_an_error_in_the_script() {
    let mut rules = load(
        r#"function down(n) { return down(n + 1) + 1; }
        export default { onTick() { down(0); } };"#,
    );
    let outcome = rules.call(Hook::Tick, &view(0));
    assert!(
        matches!(&outcome.failure, Some(HookFailure::Threw { message, .. }) if message.contains("RangeError")),
        "{outcome:?}"
    );
}

#[test]
fn math_random_is_seeded_per_room() {
    let source = r#"export default {
        onTick(room) { room.broadcast("r", Array.from({ length: 8 }, () => Math.random())); },
    };"#;
    let draws = |seed: u64| {
        let mut rules = Rules::load(FILE, source, seed, limits()).unwrap();
        let mut all = Vec::new();
        for tick in 0..3 {
            all.extend(broadcasts(&ok(rules.call(Hook::Tick, &view(tick))), "r"));
        }
        all
    };
    let (a, b, c) = (draws(42), draws(42), draws(43));
    assert_eq!(a, b, "same seed, same sequence");
    assert_ne!(a, c, "another seed, another sequence");
    assert_ne!(a[0], a[1], "the sequence goes on between calls");
    for x in a.iter().flat_map(|d| d.as_array().unwrap()) {
        let x = x.as_f64().unwrap();
        assert!((0.0..1.0).contains(&x), "{x}");
    }
}

#[test]
fn date_tells_room_time() {
    let mut rules = load(
        r#"export default {
            onTick(room) {
                room.broadcast("t", {
                    now: Date.now(),
                    date: new Date().getTime(),
                    iso: new Date().toISOString(),
                    hours: new Date().getHours(),
                    given: new Date(86400000).getTime(),
                    text: typeof Date(),
                    isDate: new Date() instanceof Date,
                    time: room.time,
                    tick: room.tick,
                });
            },
        };"#,
    );
    let mut v = view(15);
    v.time = 3600.0 * 5.0 + 1.5;
    let t = &broadcasts(&ok(rules.call(Hook::Tick, &v)), "t")[0];
    assert_eq!(t["now"], json!(18_001_500));
    assert_eq!(t["date"], json!(18_001_500));
    assert_eq!(t["iso"], json!("1970-01-01T05:00:01.500Z"));
    assert_eq!(t["hours"], json!(5), "local time is UTC");
    assert_eq!(t["given"], json!(86_400_000));
    assert_eq!(t["text"], json!("string"));
    assert_eq!(t["isDate"], json!(true));
    assert_eq!(
        (t["time"].as_f64(), t["tick"].as_u64()),
        (Some(v.time), Some(15))
    );
}

#[test]
fn no_wall_clock_timers_or_io_in_the_sandbox() {
    let mut rules = load(
        r#"export default {
            onTick(room) {
                room.broadcast("g", ["performance", "setTimeout", "setInterval", "fetch",
                    "require", "process", "std", "os", "WeakRef", "FinalizationRegistry",
                    "console"].filter((n) => typeof globalThis[n] !== "undefined"));
            },
        };"#,
    );
    let outcome = ok(rules.call(Hook::Tick, &view(0)));
    assert_eq!(broadcasts(&outcome, "g"), [json!([])]);
}

#[test]
fn imports_are_refused() {
    for source in [
        r#"import other from "./other.js"; export default {};"#,
        r#"export * from "rules/other.js"; export default {};"#,
        r#"import "x"; export default {};"#,
    ] {
        let problem = load_err(source);
        assert!(
            matches!(problem, LoadProblem::Import(_)),
            "{source}: {problem:?}"
        );
    }
    // A dynamic import is refused in the script (a rejected promise).
    let mut rules = load(
        r#"export default {
            onTick(room) { import("./other.js").catch((e) => room.broadcast("no", String(e))); },
        };"#,
    );
    let outcome = ok(rules.call(Hook::Tick, &view(0)));
    let no = broadcasts(&outcome, "no");
    assert!(
        no[0].as_str().unwrap().contains("could not load module"),
        "{no:?}"
    );
}

#[test]
fn load_errors_are_typed_and_name_the_file() {
    assert!(matches!(
        load_err("export default {"),
        LoadProblem::Syntax(_)
    ));
    assert!(matches!(
        load_err(r#"throw new TypeError("nope"); export default {};"#),
        LoadProblem::Threw(m) if m.contains("nope")
    ));
    assert!(matches!(
        load_err("export const x = 1;"),
        LoadProblem::BadDefault(_)
    ));
    for bad in ["42", "null", "() => {}", "[]", "\"hooks\""] {
        assert!(
            matches!(
                load_err(&format!("export default {bad};")),
                LoadProblem::BadDefault(_)
            ),
            "{bad}"
        );
    }
    assert_eq!(
        load_err("export default { onKik() {} };"),
        LoadProblem::UnknownHook("onKik".into())
    );
    assert_eq!(
        load_err("export default { onTick: 5 };"),
        LoadProblem::NotAFunction("onTick".into())
    );
    for rate in ["0", "-1", "\"fast\"", "1e9", "NaN"] {
        assert!(
            matches!(
                load_err(&format!(
                    "export const tickRate = {rate}; export default {{}};"
                )),
                LoadProblem::BadTickRate(_)
            ),
            "{rate}"
        );
    }
    let budget = RulesLimits::default();
    assert_eq!(
        Rules::load(FILE, "for (;;) {} export default {};", 7, budget).err(),
        Some(RulesError {
            file: FILE.into(),
            problem: LoadProblem::TimedOut(budget.time * sandbox::LOAD_BUDGETS)
        })
    );
    let huge = format!("// {}\nexport default {{}};", "x".repeat(MAX_SOURCE_BYTES));
    assert!(matches!(load_err(&huge), LoadProblem::TooLarge(_)));
}
