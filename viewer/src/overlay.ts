/**
 * What is drawn over the 3D view: the room and the connection, the client's own figures
 * (RTT, snapshots and bytes per second, interpolation delay, last correction), the match
 * (score, clock, phase) in match scenes, the Watch / Play / team buttons, and a line for
 * messages (the server's refusals, a click out of reach). Text only, set through the DOM.
 */
import type { BallroomClient } from "../../clients/ts/src/client.js";
import type { Team } from "../../clients/ts/src/types.js";
import { el, formatBytes, formatClock, setText } from "./dom.js";
import { listHref } from "./urls.js";

export type Mode = "watch" | "play";

export interface OverlayActions {
  watch(): void;
  play(): void;
  team(team: Team | null): void;
}

/** The team `id` is on, from the match state (the football rules' state). */
export function teamOf(client: BallroomClient, id: number | null): Team | null {
  const m = client.match;
  if (!m || id === null) return null;
  if (m.teams.blue.includes(id)) return "blue";
  if (m.teams.red.includes(id)) return "red";
  return null;
}

export class Overlay {
  readonly node: HTMLElement;
  private readonly f = {
    state: el("span", { text: "connecting" }),
    scene: el("span", { text: "–" }),
    who: el("span", { text: "–" }),
    rtt: el("b", { text: "–" }),
    snaps: el("b", { text: "–" }),
    bytes: el("b", { text: "–" }),
    delay: el("b", { text: "–" }),
    correction: el("b", { text: "–" }),
    blue: el("span", { class: "score blue", text: "0" }),
    red: el("span", { class: "score red", text: "0" }),
    clock: el("span", { class: "clock", text: "–" }),
    phase: el("span", { class: "phase", text: "–" }),
    message: el("div", { class: "message", attrs: { id: "message", role: "status" } }),
    help: el("div", { class: "muted help" }),
  };
  private readonly match: HTMLElement;
  private readonly teams: HTMLElement;
  private readonly buttons: Record<"watch" | "play" | "blue" | "red" | "none", HTMLButtonElement>;
  private messageUntil = 0;

  constructor(room: string, actions: OverlayActions, token: string | null = null) {
    const f = this.f;
    const button = (id: string, text: string, onClick: () => void): HTMLButtonElement =>
      el("button", { text, attrs: { id, type: "button" }, on: { click: onClick } });
    this.buttons = {
      watch: button("watch", "Watch", () => actions.watch()),
      play: button("play", "Play", () => actions.play()),
      blue: button("team-blue", "Join blue", () => actions.team("blue")),
      red: button("team-red", "Join red", () => actions.team("red")),
      none: button("team-none", "Leave team", () => actions.team(null)),
    };
    this.buttons.blue.classList.add("blue");
    this.buttons.red.classList.add("red");
    this.teams = el("span", { class: "teams hidden" }, [this.buttons.blue, this.buttons.red, this.buttons.none]);
    this.match = el("div", { class: "panel matchbar hidden", attrs: { id: "match" } }, [
      el("span", { class: "team-name blue", text: "Blue " }),
      f.blue,
      el("span", { text: " – " }),
      f.red,
      el("span", { class: "team-name red", text: " Red" }),
      el("span", { text: "  " }),
      f.clock,
      el("span", { text: " " }),
      f.phase,
    ]);
    this.node = el("div", { class: "hud" }, [
      el("section", { class: "panel roominfo" }, [
        el("a", { class: "back", text: "← rooms", attrs: { href: listHref(token) } }),
        el("h1", { class: "room-name", text: room, attrs: { id: "room-name" } }),
        el("div", {}, ["scene ", f.scene, " · ", f.state]),
        el("div", {}, [f.who]),
      ]),
      el("section", { class: "panel stats", attrs: { id: "stats" } }, [
        el("div", {}, ["RTT ", f.rtt]),
        el("div", {}, ["snapshots/s ", f.snaps]),
        el("div", {}, ["received ", f.bytes]),
        el("div", {}, ["interpolation delay ", f.delay]),
        el("div", {}, ["last correction ", f.correction]),
      ]),
      this.match,
      el("section", { class: "panel controls" }, [this.buttons.watch, this.buttons.play, this.teams, f.help]),
      f.message,
    ]);
  }

  /** Show a message for a few seconds. */
  flash(text: string, seconds = 4): void {
    setText(this.f.message, text);
    this.messageUntil = performance.now() / 1000 + seconds;
  }

  /** A message that stays until replaced (a closed connection, no WebGL). */
  notice(text: string): void {
    setText(this.f.message, text);
    this.messageUntil = Infinity;
  }

  /** Refresh every figure from the client; cheap enough for every frame. */
  update(client: BallroomClient, mode: Mode): void {
    const f = this.f;
    const s = client.stats;
    setText(f.state, client.state === "open" ? "connected" : client.state);
    setText(f.scene, client.scene?.name ?? "–");
    const team = teamOf(client, client.id);
    const who =
      client.id === null
        ? "not joined yet"
        : mode === "watch"
          ? `watching as spectator #${client.id}`
          : `playing as #${client.id}${team ? `, team ${team}` : ""}`;
    setText(f.who, who);
    setText(f.rtt, `${s.rttMs.toFixed(1)} ms`);
    setText(f.snaps, s.snapshotsPerSecond.toFixed(0));
    setText(f.bytes, `${formatBytes(s.bytesPerSecond)}/s`);
    setText(f.delay, `${s.interpolationDelayMs.toFixed(0)} ms`);
    setText(f.correction, `${(s.lastCorrection * 100).toFixed(1)} cm`);

    const m = client.match;
    this.match.classList.toggle("hidden", m === null);
    const isMatch = m !== null;
    this.teams.classList.toggle("hidden", !(isMatch && mode === "play"));
    if (m) {
      setText(f.blue, String(m.score.blue));
      setText(f.red, String(m.score.red));
      setText(f.clock, formatClock(client.matchSecondsLeft() ?? m.secondsLeft));
      const phase = m.phase === "countdown" && m.countdown ? `countdown ${m.countdown}` : m.phase;
      setText(f.phase, m.kickoff && m.phase === "playing" ? `${phase} · kick-off ${m.kickoff}` : phase);
    }
    this.buttons.watch.disabled = mode === "watch";
    this.buttons.play.disabled = mode === "play";
    this.buttons.blue.disabled = team === "blue";
    this.buttons.red.disabled = team === "red";
    this.buttons.none.disabled = team === null;
    setText(
      f.help,
      mode === "play"
        ? `Arrow keys or WASD walk; click a ball within ${client.scene?.kick_rules.reach ?? "?"} m to kick it; drag to turn, wheel to zoom.${isMatch && !team ? " Join a team to kick." : ""}`
        : "Drag to turn, wheel to zoom. Play joins the room as a player.",
    );
    if (performance.now() / 1000 > this.messageUntil) setText(f.message, "");
  }
}
