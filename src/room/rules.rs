//! The room's side of its scene's rules (`crate::rules`): loading them with the room,
//! calling each hook where the room's events happen, and carrying out what the hooks ask
//! (`Action`s) as the room's own effects. A hook that fails fails alone: the room records
//! the failure in its `Effects` for the host to count and log, and goes on.
//!
//! Where the hooks are called: `onStart` before the room's first input or tick (again
//! after a restore, with the saved state); `onJoin` and `onLeave` with `Input::Join`,
//! `Input::Resume` and `Input::Leave`; `onKick` once the referee passed a kick;
//! `onMessage` for `Input::Message` (and `Input::JoinTeam`, as the message `team`);
//! `onSensor` for each sensor event of a tick; `onTick` every `tick_every` ticks.

use std::collections::BTreeMap;

use rapier3d::prelude::*;
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::referee::{QueuedKick, Refusal};
use super::world::place;
use super::{Announcement, Effects, Room, SensorEvent, SimConfig};
use crate::ids::{ClientId, Team};
use crate::rules::{
    self, Action, BallView, ClientView, Hook, HookOutcome, KickVerdict, KickView, RoomView, Rules,
};
use crate::scene::Scene;

/// A room's rules and what the room keeps for them.
pub(super) struct RoomRules {
    engine: Rules,
    /// Call `onTick` every this many room ticks.
    tick_every: Option<u64>,
    /// `onStart` has run.
    started: bool,
    /// The members, and whether each watches only.
    members: BTreeMap<ClientId, bool>,
    /// The team the rules put each client on (`room.setTeam`).
    teams: BTreeMap<ClientId, Team>,
}

/// The rules as a saved room carries them: their file and text (so that the room restores
/// without the `--assets` it was opened from), their state and teams.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SavedRules {
    file: String,
    source: String,
    /// The last `setState`, as JSON text.
    state: Option<String>,
    teams: Vec<(ClientId, Team)>,
    /// The members the rules knew, each watching or not: at restore each leaves, and its
    /// `onLeave` tells the rules (who hear of it again, with its team, if it resumes).
    members: Vec<(ClientId, bool)>,
}

impl SavedRules {
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl RoomRules {
    /// The scene's rules, loaded for a room (`None`: the scene has none, or they no longer
    /// load with this room's limits, which is logged; the scene's check at load makes
    /// that rare).
    pub fn load(scene: &Scene, sim: &SimConfig) -> Option<RoomRules> {
        let (file, source) = (scene.rules.as_deref()?, scene.rules_source.as_deref()?);
        let loaded = Rules::load(file, source, sim.seed, sim.rules).and_then(|mut engine| {
            let options = scene.rules_options.clone().unwrap_or_default();
            engine
                .set_options(&options)
                .map_err(|failure| rules::RulesError {
                    file: file.to_owned(),
                    problem: rules::LoadProblem::Threw(failure.to_string()),
                })?;
            Ok(engine)
        });
        match loaded {
            Ok(engine) => Some(RoomRules {
                tick_every: engine.tick_every(sim.tick_rate),
                engine,
                started: false,
                members: BTreeMap::new(),
                teams: BTreeMap::new(),
            }),
            Err(error) => {
                warn!(%error, "rules not loaded; the room runs without them");
                None
            }
        }
    }

    /// The rules of a saved room, with their state put back.
    pub fn restore(saved: SavedRules, scene: &Scene, sim: &SimConfig) -> Option<RoomRules> {
        let mut engine = match Rules::load(&saved.file, &saved.source, sim.seed, sim.rules) {
            Ok(engine) => engine,
            Err(error) => {
                warn!(%error, "saved rules not loaded; the room runs without them");
                return None;
            }
        };
        let options = scene.rules_options.clone().unwrap_or_default();
        if let Err(failure) = engine.set_options(&options) {
            warn!(%failure, "rules options not set");
        }
        if let Some(state) = saved.state.and_then(|s| serde_json::from_str(&s).ok())
            && let Err(failure) = engine.restore_state(state)
        {
            warn!(%failure, "saved rules state not restored");
        }
        Some(RoomRules {
            tick_every: engine.tick_every(sim.tick_rate),
            engine,
            started: false,
            members: saved.members.into_iter().collect(),
            teams: saved.teams.into_iter().collect(),
        })
    }

    pub fn save(&self, scene: &Scene) -> SavedRules {
        SavedRules {
            file: self.engine.file().to_owned(),
            source: scene.rules_source.as_deref().unwrap_or_default().to_owned(),
            state: self.engine.state().map(|s| s.to_string()),
            teams: self.teams.iter().map(|(&c, &t)| (c, t)).collect(),
            members: self.members.iter().map(|(&c, &s)| (c, s)).collect(),
        }
    }

    /// The clients the rules count as members.
    pub fn members(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.members.keys().copied()
    }

    /// Every how many ticks `onTick` runs, if the rules have one.
    pub fn tick_every(&self) -> Option<u64> {
        self.tick_every
    }

    /// The rules' state as JSON text (`null` until set), for a `welcome`.
    pub fn state_json(&self) -> String {
        self.engine
            .state()
            .map_or_else(|| "null".to_owned(), |s| s.to_string())
    }

    pub fn team_of(&self, client: ClientId) -> Option<Team> {
        self.teams.get(&client).copied()
    }

    /// A resumed client's team, which its `onJoin` will see.
    pub fn keep_team(&mut self, client: ClientId, team: Team) {
        self.teams.insert(client, team);
    }
}

impl Room {
    /// The room as the rules read it.
    fn rules_view(&self) -> RoomView {
        let Some(rules) = &self.rules else {
            return RoomView::default();
        };
        let clients = rules
            .members
            .keys()
            .map(|&id| self.client_view(rules, id))
            .collect();
        let balls = self
            .balls
            .iter()
            .map(|b| {
                let body = &self.world.bodies[b.handle];
                BallView {
                    id: b.id,
                    position: body.translation().to_array(),
                    velocity: body.linvel().to_array(),
                    sleeping: body.is_sleeping(),
                }
            })
            .collect();
        RoomView {
            tick: self.tick,
            time: self.time(),
            clients,
            balls,
        }
    }

    fn client_view(&self, rules: &RoomRules, id: ClientId) -> ClientView {
        ClientView {
            id,
            team: rules.teams.get(&id).copied(),
            spectator: rules.members.get(&id).copied().unwrap_or(false),
            position: self
                .clients
                .get(&id)
                .and_then(|c| c.position)
                .map(|(feet, _)| feet.to_array()),
        }
    }

    /// Run `hook` (after `onStart`, if it has not run yet) and carry out what it asks.
    /// `None` when the room has no rules.
    pub(super) fn call_rules(&mut self, hook: Hook, effects: &mut Effects) -> Option<KickVerdict> {
        self.start_rules(effects);
        let outcome = self.run_hook(hook)?;
        Some(self.carry_out_rules(outcome, effects))
    }

    /// `onStart`, once (and once more after a restore).
    pub(super) fn start_rules(&mut self, effects: &mut Effects) {
        if self.rules.as_ref().is_none_or(|r| r.started) {
            return;
        }
        if let Some(rules) = &mut self.rules {
            rules.started = true;
        }
        if let Some(outcome) = self.run_hook(Hook::Start) {
            self.carry_out_rules(outcome, effects);
        }
    }

    fn run_hook(&mut self, hook: Hook) -> Option<HookOutcome> {
        let view = self.rules_view();
        Some(self.rules.as_mut()?.engine.call(hook, &view))
    }

    /// A client joined (or came back): a member the rules see, then `onJoin`.
    pub(super) fn rules_join(&mut self, client: ClientId, spectator: bool, effects: &mut Effects) {
        let Some(rules) = &mut self.rules else {
            return;
        };
        rules.members.insert(client, spectator);
        let view = self.client_view(self.rules.as_ref().expect("rules"), client);
        self.call_rules(Hook::Join(view), effects);
    }

    /// A client left: `onLeave` (it is still in `room.clients()`), then it is gone.
    pub(super) fn rules_leave(&mut self, client: ClientId, effects: &mut Effects) {
        let Some(rules) = &self.rules else {
            return;
        };
        if !rules.members.contains_key(&client) {
            return;
        }
        let view = self.client_view(rules, client);
        self.call_rules(Hook::Leave(view), effects);
        if let Some(rules) = &mut self.rules {
            rules.members.remove(&client);
            rules.teams.remove(&client);
        }
    }

    /// A message for the rules from `client`.
    pub(super) fn rules_message(
        &mut self,
        client: ClientId,
        name: String,
        data: serde_json::Value,
        effects: &mut Effects,
    ) -> bool {
        let Some(rules) = &self.rules else {
            return false;
        };
        let view = self.client_view(rules, client);
        self.call_rules(
            Hook::Message {
                client: view,
                name,
                data,
            },
            effects,
        );
        true
    }

    /// `onKick` for a kick the referee passed: accepted, changed (a new impulse, still
    /// within the scene's `max_impulse`), or refused. What the hook asked for besides, and
    /// its failure, go out with the next tick, refused or not.
    pub(super) fn judge_by_rules(&mut self, queued: &mut QueuedKick) -> Result<(), Refusal> {
        if self.rules.is_none() {
            return Ok(());
        }
        let kick = KickView {
            client: queued.client,
            ball: self.balls[queued.ball].id,
            impulse: queued.impulse.to_array(),
            point: queued.point.map(|p| p.to_array()),
        };
        let mut heard = Effects::default();
        let verdict = self
            .call_rules(Hook::Kick(kick), &mut heard)
            .unwrap_or(KickVerdict::Accept);
        let failed = heard.rules_failures.first().map(ToString::to_string);
        let refusal = match verdict {
            KickVerdict::Accept => None,
            KickVerdict::Change(impulse) => {
                let impulse = Vector::from_array(impulse);
                let (length, max) = (impulse.length(), self.scene.max_impulse);
                queued.impulse = if length > max {
                    impulse * (max / length)
                } else {
                    impulse
                };
                None
            }
            KickVerdict::Refuse(_) if failed.is_some() => failed.map(Refusal::RulesFailed),
            KickVerdict::Refuse(reason) => Some(Refusal::RefusedByRules(reason)),
        };
        // Said while serving an input: it goes out with the next tick (see `Room::apply`),
        // and so does a failure, whether or not the kick is refused.
        self.deferred.announcements.append(&mut heard.announcements);
        self.deferred
            .rules_failures
            .append(&mut heard.rules_failures);
        refusal.map_or(Ok(()), Err)
    }

    /// The tick's sensor events (`onSensor`) and, when due, `onTick`.
    pub(super) fn rules_tick(&mut self, sensors: &[SensorEvent], effects: &mut Effects) {
        let Some(rules) = &self.rules else {
            return;
        };
        let tick_due = rules
            .tick_every
            .is_some_and(|n| self.tick.is_multiple_of(n));
        self.start_rules(effects);
        for event in sensors {
            let event = rules::SensorEvent {
                sensor: event.sensor.to_string(),
                ball: event.ball,
                entered: event.entered,
            };
            self.call_rules(Hook::Sensor(event), effects);
        }
        if tick_due {
            self.call_rules(Hook::Tick, effects);
        }
    }

    /// Carry out a hook's actions, in order; record its failure. Returns its verdict.
    fn carry_out_rules(&mut self, outcome: HookOutcome, effects: &mut Effects) -> KickVerdict {
        for action in outcome.actions {
            self.rules_action(action, effects);
        }
        if let Some(failure) = outcome.failure {
            effects.rules_failures.push(failure);
        }
        outcome.verdict
    }

    fn rules_action(&mut self, action: Action, effects: &mut Effects) {
        let announce = |effects: &mut Effects, a| effects.announcements.push(a);
        match action {
            Action::ResetBall { ball, position } => {
                if let Some(b) = self.balls.iter().find(|b| b.id == ball) {
                    let at = position.map_or(b.spawn, Vector::from_array);
                    place(&mut self.world.bodies[b.handle], at);
                }
            }
            Action::ApplyImpulse { ball, impulse } => {
                if let Some(b) = self.balls.iter().find(|b| b.id == ball) {
                    let impulse = Vector::from_array(impulse);
                    self.world.bodies[b.handle].apply_impulse(impulse, true);
                }
            }
            Action::SetTeam { client, team } => {
                if let Some(rules) = &mut self.rules
                    && rules.members.contains_key(&client)
                {
                    match team {
                        Some(team) => rules.teams.insert(client, team),
                        None => rules.teams.remove(&client),
                    };
                }
            }
            Action::Send { client, name, data } => announce(
                effects,
                Announcement::RulesMessage {
                    to: Some(client),
                    name,
                    data: data.to_string(),
                },
            ),
            Action::Broadcast { name, data } => announce(
                effects,
                Announcement::RulesMessage {
                    to: None,
                    name,
                    data: data.to_string(),
                },
            ),
            Action::SetState(state) => {
                announce(effects, Announcement::RulesState(state.to_string()))
            }
            Action::End(result) => announce(effects, Announcement::RulesResult(result.to_string())),
        }
    }

    /// The rules' state as JSON text, in a room with rules (for a `welcome`).
    pub fn rules_state(&self) -> Option<String> {
        self.rules.as_ref().map(RoomRules::state_json)
    }

    /// The team the rules put `client` on.
    pub fn team_of(&self, client: ClientId) -> Option<Team> {
        self.rules.as_ref().and_then(|r| r.team_of(client))
    }

    /// Whether the room's scene has rules running.
    pub fn has_rules(&self) -> bool {
        self.rules.is_some()
    }
}
