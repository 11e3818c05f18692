//! `assets/rules/football.js` driven through `Rules::call`: the scenarios of the Rust
//! match's tests (`src/game/tests.rs`), with the same rules (10 s of play, countdown 3,
//! goal pause 2 s, end pause 5 s) at 10 ticks a second, `onTick` every tick.

use serde_json::{Value, json};

use super::*;

const SOURCE: &str = include_str!("../../assets/rules/football.js");
const TICK_RATE: f64 = 10.0;

/// football.js with a 10 s match and `on_team_empty`.
fn source(on_team_empty: &str) -> String {
    let (duration, empty) = ("duration: 300,", "onTeamEmpty: \"pause\",");
    assert!(
        SOURCE.contains(duration) && SOURCE.contains(empty),
        "football.js names its rules"
    );
    SOURCE.replacen(duration, "duration: 10,", 1).replacen(
        empty,
        &format!("onTeamEmpty: {on_team_empty:?},"),
        1,
    )
}

struct Pitch {
    rules: Rules,
}

fn client(id: ClientId) -> ClientView {
    ClientView {
        id,
        team: None,
        spectator: false,
        position: None,
    }
}

fn view(tick: u64) -> RoomView {
    RoomView {
        tick,
        time: tick as f64 / TICK_RATE,
        clients: (1..=3).map(client).collect(),
        balls: vec![BallView {
            id: 0,
            position: [0.0, 0.5, 0.0],
            velocity: [0.0; 3],
            sleeping: false,
        }],
    }
}

/// Generous: these tests judge the match, not the clock of a busy machine.
fn limits() -> RulesLimits {
    RulesLimits {
        time: std::time::Duration::from_secs(1),
        ..RulesLimits::default()
    }
}

impl Pitch {
    fn new(on_team_empty: &str) -> Pitch {
        let rules = Rules::load("rules/football.js", &source(on_team_empty), 1, limits())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.tick_every(TICK_RATE), Some(1));
        let mut pitch = Pitch { rules };
        pitch.call(Hook::Start, 0);
        pitch
    }

    fn call(&mut self, hook: Hook, tick: u64) -> HookOutcome {
        let outcome = self.rules.call(hook, &view(tick));
        assert_eq!(outcome.failure, None, "{outcome:?}");
        outcome
    }

    fn set_team(&mut self, id: ClientId, team: Option<&str>, tick: u64) -> Vec<Action> {
        let hook = Hook::Message {
            client: client(id),
            name: "team".into(),
            data: json!({ "team": team }),
        };
        self.call(hook, tick).actions
    }

    fn kick(&mut self, id: ClientId, tick: u64) -> HookOutcome {
        let kick = KickView {
            client: id,
            ball: 0,
            impulse: [1.0, 0.0, 0.0],
            point: None,
        };
        self.call(Hook::Kick(kick), tick)
    }

    fn check_kick(&mut self, id: ClientId, tick: u64) -> KickVerdict {
        self.kick(id, tick).verdict
    }

    /// A ball in the goal defended by `defending`.
    fn goal(&mut self, defending: &str, tick: u64) -> Vec<Action> {
        let event = SensorEvent {
            sensor: format!("goal_{defending}"),
            ball: 0,
            entered: true,
        };
        self.call(Hook::Sensor(event), tick).actions
    }

    /// Ticks `from..=to`, every action.
    fn run(&mut self, from: u64, to: u64) -> Vec<Action> {
        (from..=to)
            .flat_map(|t| self.call(Hook::Tick, t).actions)
            .collect()
    }

    fn state(&self) -> Value {
        self.rules.state().cloned().expect("a state")
    }
}

fn states(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SetState(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn resets_balls(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::ResetBall {
                ball: 0,
                position: None
            }
        )
    })
}

fn result(actions: &[Action]) -> Option<Value> {
    actions.iter().find_map(|a| match a {
        Action::End(r) => Some(r.clone()),
        _ => None,
    })
}

fn refuse(reason: &str) -> KickVerdict {
    KickVerdict::Refuse(reason.into())
}

#[test]
fn football_a_lone_team_never_starts_a_match() {
    let mut m = Pitch::new("pause");
    assert_eq!(m.state()["phase"], "waiting");
    assert_eq!(m.state()["secondsLeft"], json!(10));
    let mut events = m.set_team(1, Some("blue"), 0);
    events.extend(m.set_team(2, Some("blue"), 0));
    let s = states(&events);
    assert!(s.iter().all(|s| s["phase"] == "waiting"), "{s:?}");
    assert_eq!(s.last().unwrap()["teams"]["blue"], json!([1, 2]));
    assert!(
        events.contains(&Action::SetTeam {
            client: 2,
            team: Some(Team::Blue)
        }),
        "the room is told the team"
    );
    assert!(m.run(1, 1000).is_empty());
    assert_eq!(
        m.check_kick(1, 1000),
        KickVerdict::Accept,
        "warm-up kicks while waiting"
    );
    assert_eq!(m.check_kick(3, 1000), refuse("spectator"));
}

#[test]
fn football_countdown_play_goal_reset_and_final_whistle() {
    let mut m = Pitch::new("pause");
    let mut events = m.set_team(1, Some("blue"), 0);
    events.extend(m.set_team(2, Some("red"), 0));
    assert!(
        resets_balls(&events),
        "the ball goes to kick-off when the countdown starts"
    );
    let s = states(&events);
    assert_eq!(s.len(), 2);
    assert_eq!(
        (&s[1]["phase"], &s[1]["countdown"]),
        (&json!("countdown"), &json!("3"))
    );
    assert_eq!(m.check_kick(1, 0), refuse("countdown"));

    let labels: Vec<_> = m
        .run(1, 30)
        .into_iter()
        .map(|a| match a {
            Action::SetState(s) => (
                s["tick"].clone(),
                s["phase"].clone(),
                s["countdown"].clone(),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        labels,
        [
            (json!(10), json!("countdown"), json!("2")),
            (json!(20), json!("countdown"), json!("1")),
            (json!(30), json!("playing"), json!("go")),
        ]
    );
    assert_eq!(m.check_kick(2, 30), KickVerdict::Accept);

    let events = m.goal("blue", 35);
    assert_eq!(
        events[0],
        Action::Broadcast {
            name: "goal".into(),
            data: json!({"team": "red", "scorer": 2, "ball": 0, "score": {"blue": 0, "red": 1}, "tick": 35}),
        }
    );
    assert_eq!(m.check_kick(1, 35), refuse("after_goal"));
    // A second touch of the sensor while the ball is on its way back is not a goal.
    assert!(m.goal("blue", 36).is_empty());
    let after = m.run(31, 55);
    assert!(
        resets_balls(&after),
        "ball back to the centre after the pause"
    );
    let s = states(&after);
    assert_eq!(
        s.last().unwrap()["kickoff"],
        "blue",
        "the team that conceded kicks off"
    );
    assert_eq!(m.check_kick(2, 55), refuse("not_your_kickoff"));
    let taken = m.kick(1, 56);
    assert_eq!(taken.verdict, KickVerdict::Accept);
    let s = states(&taken.actions);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["kickoff"], Value::Null, "kick-off taken, and said so");
    assert_eq!(m.check_kick(2, 56), KickVerdict::Accept);

    // 10 s of play from tick 30: the whistle goes at tick 130.
    let end = m.run(56, 130);
    let result = result(&end).expect("a result");
    assert_eq!(
        result,
        json!({"score": {"blue": 0, "red": 1}, "winner": "red", "forfeit": false, "tick": 130})
    );
    let ended = states(&end).pop().unwrap();
    assert_eq!(
        (&ended["phase"], &ended["secondsLeft"]),
        (&json!("ended"), &json!(0))
    );
    assert_eq!(m.check_kick(2, 130), refuse("match_ended"));
    // After the end pause a new match starts at once: both teams are still there.
    let next = m.run(131, 180);
    let phases: Vec<_> = states(&next).iter().map(|s| s["phase"].clone()).collect();
    assert_eq!(phases[0], "countdown", "{phases:?}");
    assert_eq!(m.state()["score"], json!({"blue": 0, "red": 0}));
}

#[test]
fn football_a_team_emptying_pauses_the_clock_until_it_returns() {
    let mut m = Pitch::new("pause");
    m.set_team(1, Some("blue"), 0);
    m.set_team(2, Some("red"), 0);
    m.run(1, 40);
    let events = m.call(Hook::Leave(client(2)), 40).actions;
    let paused = states(&events).pop().unwrap();
    assert_eq!(paused["phase"], "paused");
    let left = paused["secondsLeft"].clone();
    assert_eq!(left, json!(9), "1 s played of 10");
    assert_eq!(m.check_kick(1, 40), refuse("match_paused"));
    assert!(m.run(41, 200).is_empty(), "nothing happens while paused");
    assert_eq!(m.state()["secondsLeft"], left, "clock stopped");
    let s = states(&m.set_team(3, Some("red"), 200));
    assert_eq!(s.last().unwrap()["phase"], "countdown");
    m.run(201, 230);
    assert_eq!(m.state()["phase"], "playing");
    assert_eq!(m.state()["secondsLeft"], left, "resumed where it stopped");
    // And it runs out 9 s later.
    let end = m.run(231, 320);
    assert_eq!(result(&end).expect("a result")["tick"], json!(320));
}

#[test]
fn football_forfeit_ends_the_match_for_the_team_still_there() {
    let mut m = Pitch::new("forfeit");
    m.set_team(1, Some("blue"), 0);
    m.set_team(2, Some("red"), 0);
    m.run(1, 40);
    let events = m.set_team(2, None, 41); // moves to spectators
    let result = result(&events).expect("a result");
    assert_eq!(
        (&result["winner"], &result["forfeit"]),
        (&json!("blue"), &json!(true))
    );
}

#[test]
fn football_a_spectator_cannot_choose_a_team() {
    let mut m = Pitch::new("pause");
    let mut fan = client(3);
    fan.spectator = true;
    let hook = Hook::Message {
        client: fan,
        name: "team".into(),
        data: json!({"team": "red"}),
    };
    let actions = m.call(hook, 0).actions;
    assert_eq!(
        actions,
        [Action::Send {
            client: 3,
            name: "refused".into(),
            data: json!({"name": "team", "reason": "spectating"}),
        }]
    );
}

#[test]
fn football_resumes_after_a_restart_from_its_state() {
    let mut m = Pitch::new("pause");
    m.set_team(1, Some("blue"), 0);
    m.set_team(2, Some("red"), 0);
    m.run(1, 60);
    m.kick(2, 60);
    m.goal("blue", 61);
    let saved = m.state();

    // A new process: fresh rules, the saved state, onStart, and time goes on.
    let mut rules = Rules::load("rules/football.js", &source("pause"), 2, limits()).unwrap();
    rules.restore_state(saved.clone()).unwrap();
    let mut again = Pitch { rules };
    assert!(states(&again.call(Hook::Start, 62).actions).is_empty());
    assert_eq!(again.state(), saved);
    let after = again.run(62, 130);
    assert!(resets_balls(&after), "the goal's pause went on");
    assert_eq!(
        result(&after).expect("the clock went on"),
        json!({"score": {"blue": 0, "red": 1}, "winner": "red", "forfeit": false, "tick": 130})
    );
}
