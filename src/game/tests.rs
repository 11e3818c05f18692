//! The match state machine, driven tick by tick without a room.

use super::*;
use std::collections::BTreeMap;

fn rules(on_team_empty: OnTeamEmpty) -> MatchRules {
    MatchRules {
        min_players_per_team: 1,
        duration: 10.0,
        countdown: 3,
        goal_pause: 2.0,
        end_pause: 5.0,
        on_team_empty,
        goals: BTreeMap::from([
            ("goal_blue".into(), Team::Blue),
            ("goal_red".into(), Team::Red),
        ]),
    }
}

fn states(events: Vec<MatchEvent>) -> Vec<MatchState> {
    events
        .into_iter()
        .filter_map(|e| match e {
            MatchEvent::State(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Run ticks `from..=to`, returning every event.
fn run(m: &mut Match, from: u64, to: u64) -> Vec<MatchEvent> {
    (from..=to).flat_map(|t| m.tick(t)).collect()
}

fn resets_balls(events: &[MatchEvent]) -> bool {
    events.contains(&MatchEvent::ResetBalls)
}

#[test]
fn a_lone_team_never_starts_a_match() {
    let mut m = Match::new(rules(OnTeamEmpty::Pause), 10.0);
    let mut events = m.set_team(1, Some(Team::Blue), 0);
    events.extend(m.set_team(2, Some(Team::Blue), 0));
    let s = states(events);
    assert!(s.iter().all(|s| s.phase == Phase::Waiting));
    assert_eq!(s.last().unwrap().teams.blue, [1, 2]);
    assert!(run(&mut m, 1, 1000).is_empty());
    assert_eq!(m.check_kick(1), Ok(()), "warm-up kicks while waiting");
    assert_eq!(m.check_kick(3), Err(MatchRefusal::Spectator));
}

#[test]
fn countdown_play_goal_reset_and_final_whistle() {
    let mut m = Match::new(rules(OnTeamEmpty::Pause), 10.0); // 10 ticks a second
    let mut events = m.set_team(1, Some(Team::Blue), 0);
    events.extend(m.set_team(2, Some(Team::Red), 0));
    assert!(
        resets_balls(&events),
        "the ball goes to kick-off when the countdown starts"
    );
    let s = states(events);
    assert_eq!(s.len(), 2);
    assert_eq!((s[1].phase, s[1].countdown), (Phase::Countdown, Some("3")));
    assert_eq!(m.check_kick(1), Err(MatchRefusal::Countdown));

    let labels: Vec<_> = run(&mut m, 1, 30)
        .into_iter()
        .map(|e| match e {
            MatchEvent::State(s) => (s.tick, s.phase, s.countdown),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        labels,
        [
            (10, Phase::Countdown, Some("2")),
            (20, Phase::Countdown, Some("1")),
            (30, Phase::Playing, Some("go")),
        ]
    );
    assert_eq!(m.check_kick(2), Ok(()));

    let events = m.goal(Team::Blue, 0, Some(2), 35);
    assert!(matches!(
        &events[0],
        MatchEvent::Goal(Goal {
            team: Team::Red,
            scorer: Some(2),
            score: Score { blue: 0, red: 1 },
            ..
        })
    ));
    assert_eq!(m.check_kick(1), Err(MatchRefusal::AfterGoal));
    // A second touch of the sensor while the ball is on its way back is not a goal.
    assert!(m.goal(Team::Blue, 0, Some(2), 36).is_empty());
    let after = run(&mut m, 31, 55);
    assert!(
        resets_balls(&after),
        "ball back to the centre after the pause"
    );
    let MatchEvent::State(s) = after.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        s.kickoff,
        Some(Team::Blue),
        "the team that conceded kicks off"
    );
    assert_eq!(
        m.check_kick(2),
        Err(MatchRefusal::NotYourKickoff(Team::Blue))
    );
    assert_eq!(m.check_kick(1), Ok(()));
    let MatchEvent::State(s) = m.kicked(1, 56).into_iter().next().unwrap() else {
        panic!()
    };
    assert_eq!(s.kickoff, None, "kick-off taken, and said so");
    assert_eq!(m.check_kick(2), Ok(()));

    // 10 s of play = 100 ticks from tick 30: the whistle goes at tick 130.
    let end = run(&mut m, 56, 130);
    let result = end
        .iter()
        .find_map(|e| match e {
            MatchEvent::Result(r) => Some(r.clone()),
            _ => None,
        })
        .expect("a result");
    assert_eq!(result.tick, 130);
    assert_eq!((result.winner, result.forfeit), (Some(Team::Red), false));
    assert_eq!(m.check_kick(2), Err(MatchRefusal::Ended));
    // After the end pause a new match starts at once: both teams are still there.
    let next = run(&mut m, 131, 180);
    let phases: Vec<_> = next
        .iter()
        .filter_map(|e| match e {
            MatchEvent::State(s) => Some(s.phase),
            _ => None,
        })
        .collect();
    assert_eq!(phases[0], Phase::Countdown, "{phases:?}");
    assert_eq!(m.state(180).score, Score::default());
}

#[test]
fn a_team_emptying_pauses_the_clock_until_it_returns() {
    let mut m = Match::new(rules(OnTeamEmpty::Pause), 10.0);
    m.set_team(1, Some(Team::Blue), 0);
    m.set_team(2, Some(Team::Red), 0);
    run(&mut m, 1, 40);
    let left = m.state(40).seconds_left;
    let events = m.remove(2, 40);
    assert_eq!(states(events).last().unwrap().phase, Phase::Paused);
    assert_eq!(m.check_kick(1), Err(MatchRefusal::Paused));
    run(&mut m, 41, 200);
    assert_eq!(m.state(200).seconds_left, left, "clock stopped");
    let s = states(m.set_team(3, Some(Team::Red), 200));
    assert_eq!(s.last().unwrap().phase, Phase::Countdown);
    run(&mut m, 201, 230);
    assert_eq!(m.state(230).phase, Phase::Playing);
    assert_eq!(m.state(230).seconds_left, left, "resumed where it stopped");
}

#[test]
fn forfeit_ends_the_match_for_the_team_still_there() {
    let mut m = Match::new(rules(OnTeamEmpty::Forfeit), 10.0);
    m.set_team(1, Some(Team::Blue), 0);
    m.set_team(2, Some(Team::Red), 0);
    run(&mut m, 1, 40);
    let result = m
        .set_team(2, None, 41) // moves to spectators
        .into_iter()
        .find_map(|e| match e {
            MatchEvent::Result(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!((result.winner, result.forfeit), (Some(Team::Blue), true));
}
