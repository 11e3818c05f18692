//! A room with rules, driven directly: the hooks are called where the room's events
//! happen, what they ask is carried out as the room's effects, and a failing hook fails
//! alone.

use std::sync::Arc;

use super::*;
use crate::scene::SceneLibrary;

/// A kickballs room whose rules are `source`.
fn room_with(source: &str) -> Room {
    let mut scene = (*SceneLibrary::builtin().get("kickballs").unwrap()).clone();
    scene.rules = Some("rules/test.js".into());
    scene.rules_source = Some(source.into());
    // Enough kicks for every test, so that only the rules refuse any.
    scene.kick_rules.burst = 100.0;
    Room::new(Arc::new(scene), SimConfig::default())
}

fn kick(r: &mut Room, client: ClientId, impulse: [f32; 3]) -> Result<Effects, Refusal> {
    r.apply(
        client,
        Input::Kick(Kick {
            ball: 0,
            impulse,
            point: None,
            seq: Some(1),
            seen_at: None,
            tick: None,
        }),
    )
}

fn states(effects: &Effects) -> Vec<serde_json::Value> {
    effects
        .announcements
        .iter()
        .filter_map(|a| match a {
            Announcement::RulesState(s) => Some(serde_json::from_str(s).unwrap()),
            _ => None,
        })
        .collect()
}

fn messages(effects: &Effects) -> Vec<(Option<ClientId>, String, serde_json::Value)> {
    effects
        .announcements
        .iter()
        .filter_map(|a| match a {
            Announcement::RulesMessage { to, name, data } => {
                Some((*to, name.clone(), serde_json::from_str(data).unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// `input` applied, and the tick after it: what the rules said while serving an input goes
/// out with the next tick.
fn heard(r: &mut Room, client: ClientId, input: Input) -> Effects {
    let mut e = r.apply(client, input).unwrap();
    e.announcements.extend(r.tick().announcements);
    e
}

/// The velocity of ball 0 after the next tick.
fn speed_after_tick(r: &mut Room) -> f32 {
    r.tick();
    let snap = r.snapshot();
    let v = snap.balls.iter().find(|b| b.id == 0).unwrap().linvel;
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

#[test]
fn start_and_join_run_before_anything_and_their_state_is_announced() {
    let mut r = room_with(
        "export default {
           onStart(room) { room.setState({ joined: [] }); },
           onJoin(room, c) { room.setState({ joined: [...room.state.joined, [c.id, c.spectator]] }); },
         };",
    );
    assert_eq!(r.rules_state().as_deref(), Some("null"));
    let e = heard(&mut r, 7, Input::Join { spectator: false });
    let s = states(&e);
    assert_eq!(
        s,
        [
            serde_json::json!({ "joined": [] }),
            serde_json::json!({ "joined": [[7, false]] })
        ]
    );
    let e = heard(&mut r, 8, Input::Join { spectator: true });
    assert_eq!(
        states(&e),
        [serde_json::json!({ "joined": [[7, false], [8, true]] })]
    );
    assert_eq!(
        r.rules_state().unwrap(),
        r#"{"joined":[[7,false],[8,true]]}"#
    );
}

#[test]
fn on_kick_accepts_refuses_with_a_reason_or_changes_the_impulse_within_max_impulse() {
    let mut r = room_with(
        "export default {
           onKick(room, k) {
             if (k.impulse[0] === 1) return { refuse: 'not that way' };
             if (k.impulse[0] === 2) return false;
             if (k.impulse[0] === 3) return { impulse: [0, 0, 1e6] };
             if (k.impulse[0] === 4) return { impulse: [0, 0, 10] };
           },
         };",
    );
    r.apply(1, Input::Join { spectator: false }).unwrap();
    assert_eq!(
        kick(&mut r, 1, [1.0, 0.0, 0.0]).unwrap_err(),
        Refusal::RefusedByRules("not that way".into())
    );
    assert_eq!(
        kick(&mut r, 1, [2.0, 0.0, 0.0]).unwrap_err(),
        Refusal::RefusedByRules(crate::rules::REFUSED_BY_RULES.into())
    );
    // Changed to 10 N·s on a 5 kg ball: 2 m/s, less a tick of damping and friction.
    kick(&mut r, 1, [4.0, 0.0, 0.0]).unwrap();
    let v = speed_after_tick(&mut r);
    assert!((1.8..=2.0).contains(&v), "{v}");
    // Changed beyond the scene's 150 N·s: held to it, 30 m/s.
    let mut r2 = room_with("export default { onKick() { return { impulse: [0, 0, 1e6] }; } };");
    kick(&mut r2, 1, [0.0, 0.0, 1.0]).unwrap();
    let v = speed_after_tick(&mut r2);
    assert!((28.0..=30.0).contains(&v), "{v}");
}

#[test]
fn a_failing_on_kick_refuses_with_rules_failed_and_the_room_goes_on() {
    let mut r = room_with(
        "export default {
           onKick(room, k) {
             if (k.impulse[0] === 1) throw new Error('boom');
             if (k.impulse[0] === 2) for (;;) {}
             if (k.impulse[0] === 3) { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }
             room.broadcast('ok', { n: k.impulse[2] });
           },
         };",
    );
    for bad in [1.0, 2.0, 3.0] {
        let refusal = kick(&mut r, 1, [bad, 0.0, 0.0]).unwrap_err();
        assert!(matches!(refusal, Refusal::RulesFailed(_)), "{refusal:?}");
        // The failure goes out (to be counted) with the next tick; the room ticks on.
        let e = r.tick();
        assert_eq!(e.rules_failures.len(), 1, "{:?}", e.rules_failures);
    }
    let mut e = kick(&mut r, 1, [0.0, 0.0, 5.0]).unwrap();
    e.announcements.extend(r.tick().announcements);
    assert_eq!(
        messages(&e),
        [(None, "ok".into(), serde_json::json!({ "n": 5 }))]
    );
}

#[test]
fn messages_reach_the_rules_and_join_team_is_the_message_team() {
    let mut r = room_with(
        "export default {
           onMessage(room, c, name, data) {
             if (name === 'team') room.setTeam(c.id, data.team);
             room.send(c.id, 'echo', { name, data, team: room.clients().find((x) => x.id === c.id).team });
           },
         };",
    );
    r.apply(3, Input::Join { spectator: false }).unwrap();
    let e = heard(
        &mut r,
        3,
        Input::Message {
            name: "hello".into(),
            data: r#"{"x":[1,2]}"#.into(),
        },
    );
    assert_eq!(
        messages(&e),
        [(
            Some(3),
            "echo".into(),
            serde_json::json!({ "name": "hello", "data": { "x": [1, 2] }, "team": null })
        )]
    );
    r.apply(3, Input::JoinTeam(Some(Team::Red))).unwrap();
    assert_eq!(r.session(3).team, Some(Team::Red));
    let e = heard(
        &mut r,
        3,
        Input::Message {
            name: "again".into(),
            data: "null".into(),
        },
    );
    assert_eq!(messages(&e).last().unwrap().2["team"], "red");
}

#[test]
fn a_message_to_a_room_without_rules_is_refused() {
    let mut r = Room::new(
        SceneLibrary::builtin().get("kickballs").unwrap(),
        SimConfig::default(),
    );
    let refusal = r
        .apply(
            1,
            Input::Message {
                name: "x".into(),
                data: "1".into(),
            },
        )
        .unwrap_err();
    assert_eq!(refusal, Refusal::NoRules("kickballs".into()));
}

#[test]
fn on_tick_runs_at_the_modules_rate_and_keeps_the_room_awake() {
    let mut r = room_with(
        "export const tickRate = 20;
         export default { onTick(room) { room.setState({ tick: room.tick }); } };",
    );
    let ticks: Vec<u64> = (0..12)
        .flat_map(|_| states(&r.tick()))
        .map(|s| s["tick"].as_u64().unwrap())
        .collect();
    assert_eq!(ticks, [3, 6, 9, 12]);
    assert!(!r.is_at_rest(), "a room whose rules tick never sleeps");
}

#[test]
fn leaving_calls_on_leave_while_the_client_is_still_listed() {
    let mut r = room_with(
        "export default {
           onLeave(room, c) { room.broadcast('left', { id: c.id, listed: room.clients().map((x) => x.id) }); },
         };",
    );
    r.apply(4, Input::Join { spectator: false }).unwrap();
    r.apply(5, Input::Join { spectator: false }).unwrap();
    let e = heard(&mut r, 4, Input::Leave);
    assert_eq!(
        messages(&e),
        [(
            None,
            "left".into(),
            serde_json::json!({ "id": 4, "listed": [4, 5] })
        )]
    );
}

#[test]
fn the_rules_state_and_teams_survive_save_and_restore() {
    let source = "export default {
           onStart(room) { room.setState({ starts: (room.state?.starts ?? 0) + 1 }); },
           onMessage(room, c, name, data) { room.setTeam(c.id, data.team); },
         };";
    let mut r = room_with(source);
    r.apply(2, Input::Join { spectator: false }).unwrap();
    r.apply(2, Input::JoinTeam(Some(Team::Blue))).unwrap();
    assert_eq!(r.rules_state().unwrap(), r#"{"starts":1}"#);
    let session = r.session(2);
    assert_eq!(session.team, Some(Team::Blue));
    let bytes = postcard::to_stdvec(&r.save()).unwrap();
    let saved: SavedRoom = postcard::from_bytes(&bytes).unwrap();
    // The scene as a saved record carries it: without the rules' text.
    let mut scene = (*SceneLibrary::builtin().get("kickballs").unwrap()).clone();
    scene.rules = Some("rules/test.js".into());
    let mut back = Room::restore(Arc::new(scene), SimConfig::default(), saved).unwrap();
    // onStart ran again, with the saved state, before the rules heard their members leave.
    assert_eq!(back.rules_state().unwrap(), r#"{"starts":2}"#);
    // The client resumes on its team.
    back.apply(2, Input::Resume(session)).unwrap();
    back.apply(2, Input::Join { spectator: false }).unwrap();
    assert_eq!(back.session(2).team, Some(Team::Blue));
    assert_eq!(back.rules_state().unwrap(), r#"{"starts":2}"#);
}
