// The built-in football match, on the rules API (docs/RULES.md): two teams, a countdown
// (3, 2, 1, go), goals from the goal-mouth sensors, the ball back to the centre after a
// goal with the kick-off to the team that conceded, a match clock, a pause (or a forfeit)
// when a team empties, and the final result. It is `src/game` (the Rust match) written
// against `room`, timed in room seconds instead of ticks.
//
// Everything a restart must keep is in the state (`room.setState`), which is also what
// clients are shown; only who last kicked each ball (the scorer of a goal) lives in the
// module, and a restart forgets it.
//
// Team choice: `onMessage(room, client, "team", {team: "blue" | "red" | null})`.

/** @typedef {import("./ballroom-rules").Room} Room */

export const tickRate = 10;

// The defaults; a scene's `rules_options` (`room.options`) override any of them, and
// `onStart` takes them in.
const RULES = {
  minPlayersPerTeam: 1,
  duration: 300, // seconds of play
  countdown: 3, // steps of one second before `go`
  goalPause: 2, // seconds before the ball goes back to the centre after a goal
  endPause: 5, // seconds the result stands before the room waits for a new match
  onTeamEmpty: "pause", // or "forfeit"
  goals: { goal_blue: "blue", goal_red: "red" }, // sensor -> the team defending it
};

/** Timer slack: room time is a float. */
const EPS = 1e-9;

/** Ball id -> the client whose accepted kick touched it last. */
const lastKick = new Map();

function fresh(room) {
  return {
    phase: "waiting",
    countdown: null,
    secondsLeft: RULES.duration,
    score: { blue: 0, red: 0 },
    teams: { blue: [], red: [] },
    kickoff: null,
    minPlayersPerTeam: RULES.minPlayersPerTeam,
    tick: room.tick,
    // Timers, in room seconds. The clock had `left` seconds at `since` (null: stopped).
    clock: { left: RULES.duration, since: null },
    step: 0, // countdown steps shown
    nextAt: null, // next countdown step
    resume: false, // the countdown resumes a paused match
    resetAt: null, // after a goal: when the ball goes back to the centre...
    conceded: null, // ...and who kicks off
    endsAt: null, // end of the result's pause
  };
}

/** The match: the saved state, or a fresh one if `onStart` has not run yet. */
const current = (room) => room.state ?? fresh(room);
const other = (team) => (team === "blue" ? "red" : "blue");
const count = (s, team) => s.teams[team].length;
const teamOf = (s, id) =>
  s.teams.blue.includes(id) ? "blue" : s.teams.red.includes(id) ? "red" : null;

function clockLeft(s, time) {
  const { left, since } = s.clock;
  const now = since === null ? left : left - (time - since);
  return Math.max(0, Math.round(now * 1000) / 1000);
}

/** Publish (and save) the state. `countdown` shows the step, or "go" on the state starting play. */
function announce(room, s, go = false) {
  s.countdown =
    s.phase === "countdown" ? String(RULES.countdown - s.step) : go ? "go" : null;
  s.secondsLeft = clockLeft(s, room.time);
  s.tick = room.tick;
  room.setState(s);
}

function resetBalls(room) {
  lastKick.clear();
  for (const ball of room.balls()) room.resetBall(ball.id);
}

function startCountdown(room, s, resume) {
  if (!resume) {
    s.score = { blue: 0, red: 0 };
    s.clock = { left: RULES.duration, since: null };
    s.kickoff = null;
    s.resetAt = null;
    s.conceded = null;
    resetBalls(room);
  }
  s.phase = "countdown";
  s.step = 0;
  s.nextAt = room.time + 1;
  s.resume = resume;
  if (RULES.countdown === 0) play(room, s);
  else announce(room, s);
}

function play(room, s) {
  s.phase = "playing";
  s.nextAt = null;
  s.clock.since = room.time;
  announce(room, s, true);
}

function end(room, s, winner, forfeit) {
  s.clock = { left: clockLeft(s, room.time), since: null };
  s.phase = "ended";
  s.endsAt = room.time + RULES.endPause;
  s.resetAt = null;
  s.conceded = null;
  s.kickoff = null;
  room.end({ score: { ...s.score }, winner, forfeit, tick: room.tick });
  announce(room, s);
}

/** React to a change in team sizes; true if that announced a new state. */
function presenceChanged(room, s) {
  const min = RULES.minPlayersPerTeam;
  const full = count(s, "blue") >= min && count(s, "red") >= min;
  const both = count(s, "blue") > 0 && count(s, "red") > 0;
  switch (s.phase) {
    case "waiting":
      if (!full) return false;
      startCountdown(room, s, false);
      return true;
    case "countdown":
      if (s.resume ? both : full) return false;
      s.phase = s.resume ? "paused" : "waiting";
      s.nextAt = null;
      announce(room, s);
      return true;
    case "playing":
      if (both) return false;
      if (RULES.onTeamEmpty === "forfeit") {
        end(room, s, ["blue", "red"].find((t) => count(s, t) > 0) ?? null, true);
      } else {
        s.clock = { left: clockLeft(s, room.time), since: null };
        s.phase = "paused";
        announce(room, s);
      }
      return true;
    case "paused":
      if (!both) return false;
      startCountdown(room, s, true);
      return true;
    default:
      return false;
  }
}

function leaveTeams(s, id) {
  s.teams.blue = s.teams.blue.filter((c) => c !== id);
  s.teams.red = s.teams.red.filter((c) => c !== id);
}

/** Put `client` on `team` (or none), and say so: the asking client gets the whole state. */
function chooseTeam(room, client, team) {
  const s = current(room);
  leaveTeams(s, client.id);
  if (team) s.teams[team] = [...s.teams[team], client.id].sort((a, b) => a - b);
  room.setTeam(client.id, team);
  if (!presenceChanged(room, s)) announce(room, s);
}

export default {
  onStart(room) {
    Object.assign(RULES, room.options);
    // After a restart the saved state is back in `room.state`: the match goes on.
    if (room.state === null) room.setState(fresh(room));
  },

  onJoin(room, client) {
    // A resumed session comes back on the team it had (the room keeps it for the rules).
    if (!client.spectator && client.team !== null) chooseTeam(room, client, client.team);
  },

  onMessage(room, client, name, data) {
    if (name !== "team") return;
    const choice = data === null || typeof data !== "object" ? undefined : data.team;
    if (client.spectator) {
      room.send(client.id, "refused", { name, reason: "spectating" });
      return;
    }
    if (![undefined, null, "spectator", "blue", "red"].includes(choice)) {
      room.send(client.id, "refused", { name, reason: "bad_command" });
      return;
    }
    chooseTeam(room, client, choice === "blue" || choice === "red" ? choice : null);
  },

  onLeave(room, client) {
    const s = current(room);
    if (teamOf(s, client.id) === null) return;
    leaveTeams(s, client.id);
    if (!presenceChanged(room, s)) announce(room, s);
  },

  onKick(room, kick) {
    const s = current(room);
    const team = teamOf(s, kick.client);
    if (team === null) return { refuse: "spectator" };
    switch (s.phase) {
      case "countdown":
        return { refuse: "countdown" };
      case "paused":
        return { refuse: "match_paused" };
      case "ended":
        return { refuse: "match_ended" };
      case "playing":
        if (s.resetAt !== null) return { refuse: "after_goal" };
        if (s.kickoff !== null && s.kickoff !== team) return { refuse: "not_your_kickoff" };
        break;
      default: // waiting: team players warm up
        break;
    }
    lastKick.set(kick.ball, kick.client);
    if (s.kickoff !== null && s.kickoff === team) {
      s.kickoff = null; // kick-off taken, and said so
      announce(room, s);
    }
    return true;
  },

  onSensor(room, event) {
    const defending = RULES.goals[event.sensor];
    const s = current(room);
    if (!event.entered || !defending || s.phase !== "playing" || s.resetAt !== null) return;
    const team = other(defending);
    s.score[team] += 1;
    s.resetAt = room.time + RULES.goalPause;
    s.conceded = defending;
    const scorer = lastKick.get(event.ball) ?? null;
    room.broadcast("goal", { team, scorer, ball: event.ball, score: { ...s.score }, tick: room.tick });
    announce(room, s);
  },

  onTick(room) {
    const s = current(room);
    const now = room.time + EPS;
    if (s.phase === "countdown" && now >= s.nextAt) {
      s.step += 1;
      if (s.step >= RULES.countdown) {
        play(room, s);
      } else {
        s.nextAt += 1;
        announce(room, s);
      }
    } else if (s.phase === "playing") {
      if (s.resetAt !== null && now >= s.resetAt) {
        s.resetAt = null;
        resetBalls(room);
        s.kickoff = s.conceded;
        s.conceded = null;
        announce(room, s);
      }
      if (clockLeft(s, room.time) <= 0) {
        const { blue, red } = s.score;
        end(room, s, blue > red ? "blue" : red > blue ? "red" : null, false);
      }
    } else if (s.phase === "ended" && now >= s.endsAt) {
      s.phase = "waiting";
      s.endsAt = null;
      if (!presenceChanged(room, s)) announce(room, s);
    }
  },
};
