//! The cost of the rules layer on the room's tick: one `onKick` and one `onTick` call of
//! the built-in `assets/rules/football.js`, mid-match (a 60 Hz room, both teams on the
//! pitch, the clock running), through `Rules::call` with a view of 10 clients and a ball.
//!
//! - `rules/on_kick`: an accepted kick (team player, no kick-off pending): the verdict and
//!   the kicker noted, no state published;
//! - `rules/on_kick_refused`: a spectator's kick, refused with a reason;
//! - `rules/on_tick`: a tick of play with nothing to announce (countdown and goal pause
//!   over, clock running);
//! - `rules/load`: loading football.js into a fresh sandbox (once per room).

use std::hint::black_box;

use ballroom::rules::{
    BallView, ClientView, Hook, KickVerdict, KickView, RoomView, Rules, RulesLimits,
};
use std::sync::Arc;

use ballroom::ids::Team;
use ballroom::room::{Input, Room, SimConfig};
use ballroom::scene::{Scene, SceneLibrary};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const SOURCE: &str = include_str!("../assets/rules/football.js");
const TICK_RATE: f64 = 60.0;

fn client(id: u64) -> ClientView {
    ClientView {
        id,
        team: None,
        spectator: false,
        position: Some([0.0, 0.0, 1.0]),
    }
}

fn view(tick: u64) -> RoomView {
    RoomView {
        tick,
        time: tick as f64 / TICK_RATE,
        clients: (1..=10).map(client).collect(),
        balls: vec![BallView {
            id: 0,
            position: [1.0, 0.5, 2.0],
            velocity: [3.0, 0.0, -1.0],
            sleeping: false,
        }],
    }
}

fn kick(client: u64) -> Hook {
    Hook::Kick(KickView {
        client,
        ball: 0,
        impulse: [5.0, 2.0, 0.0],
        point: Some([0.8, 0.5, 2.0]),
    })
}

/// football.js mid-match at `tick` 600 (10 s in): teams of four, play under way.
fn mid_match() -> Rules {
    let mut rules = Rules::load("rules/football.js", SOURCE, 1, RulesLimits::default()).unwrap();
    let every = rules.tick_every(TICK_RATE).unwrap();
    rules.call(Hook::Start, &view(0));
    for id in 1..=8 {
        let team = if id % 2 == 0 { "blue" } else { "red" };
        let hook = Hook::Message {
            client: client(id),
            name: "team".into(),
            data: json!({ "team": team }),
        };
        assert_eq!(rules.call(hook, &view(0)).failure, None);
    }
    for tick in (every..=600).step_by(every as usize) {
        assert_eq!(rules.call(Hook::Tick, &view(tick)).failure, None);
    }
    assert_eq!(rules.state().unwrap()["phase"], "playing");
    rules
}

fn calls(c: &mut Criterion) {
    let mut g = c.benchmark_group("rules");
    let mut rules = mid_match();
    let at = view(600);
    g.bench_function("on_kick", |b| {
        b.iter(|| {
            let outcome = rules.call(black_box(kick(2)), &at);
            debug_assert_eq!(outcome.verdict, KickVerdict::Accept);
            black_box(outcome)
        })
    });
    g.bench_function("on_kick_refused", |b| {
        b.iter(|| black_box(rules.call(black_box(kick(10)), &at)))
    });
    g.bench_function("on_tick", |b| {
        b.iter(|| {
            let outcome = rules.call(Hook::Tick, &at);
            debug_assert!(outcome.actions.is_empty());
            black_box(outcome)
        })
    });
    g.bench_function("load", |b| {
        b.iter(|| {
            black_box(Rules::load("rules/football.js", SOURCE, 1, RulesLimits::default()).unwrap())
        })
    });
    g.finish();
}

/// A football room mid-match: eight players on the pitch (four a team), 10 s of play.
fn football_room(scene: Arc<Scene>) -> Room {
    let mut room = Room::new(scene, SimConfig::default());
    for id in 1..=8u64 {
        room.apply(id, Input::Join { spectator: false }).unwrap();
        let x = if id % 2 == 0 { -3.0 } else { 3.0 } + id as f32 * 0.1;
        let pose = Input::Pose {
            position: [x, 0.0, id as f32 - 4.0],
            rotation: [0.0, 0.0, 0.0, 1.0],
        };
        room.apply(id, pose).unwrap();
        let team = if id % 2 == 0 { Team::Blue } else { Team::Red };
        room.apply(id, Input::JoinTeam(Some(team))).unwrap();
    }
    for _ in 0..600 {
        room.tick();
    }
    let state = room.rules_state().expect("football has rules");
    assert!(
        state.contains(r#""phase":"playing""#),
        "the match is under way"
    );
    room
}

/// A whole room tick of football (its match on `football.js`), every ball awake so that
/// the world steps: the cost of a room with rules. (Measured beside the Rust match it
/// replaced, in one run, before that was removed: see `ARCHITECTURE.md`.)
fn football(c: &mut Criterion) {
    let mut g = c.benchmark_group("football_room");
    let mut room = football_room(SceneLibrary::builtin().get("football").unwrap());
    g.bench_function("rules_js", |b| {
        b.iter(|| {
            room.wake_all();
            black_box(room.tick())
        })
    });
    g.finish();
}

criterion_group!(benches, calls, football);
criterion_main!(benches);
