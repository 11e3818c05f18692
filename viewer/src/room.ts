/**
 * One room on the page: a ballroom-client connection (a spectator to watch, a player to
 * play), the 3D view built from its welcome, the overlay, and the play controls. The frame
 * loop is the client's own `animate` (update, then draw what the client renders:
 * interpolated remote state, predicted own kicks).
 */
import { animate } from "../../clients/ts/src/browser.js";
import type { RenderedBall } from "../../clients/ts/src/api.js";
import { BallroomClient } from "../../clients/ts/src/client.js";
import type { Scene, WelcomeMessage } from "../../clients/ts/src/protocol/messages.js";
import type { Team, Vec3 } from "../../clients/ts/src/types.js";
import { el } from "./dom.js";
import { Overlay, teamOf, type Mode } from "./overlay.js";
import { IDLE_POSE_INTERVAL, POSE_INTERVAL, Walker, kickImpulse, reachShortfall, spawnPoint } from "./play.js";
import { SceneView, probeWebgl } from "./scene3d.js";
import { pageMount, roomSocketUrl } from "./urls.js";

/** Pixels a press may move and still count as a click (more is a drag that turns the camera). */
const CLICK_SLOP = 5;

export class RoomView {
  readonly node: HTMLElement;
  mode: Mode = "watch";
  client: BallroomClient | null = null;
  view: SceneView | null = null;
  walker: Walker | null = null;
  /** The last kick this page sent. */
  lastKick: { seq: number; ball: number; impulse: Vec3 } | null = null;
  private readonly gl = probeWebgl();
  readonly webgl = this.gl.available;

  private readonly stage = el("div", { class: "stage", attrs: { id: "stage" } });
  private readonly overlay: Overlay;
  private stopLoop: (() => void) | null = null;
  private sinceLastPose = Infinity;
  private moved = false;
  private press: { x: number; y: number; lastX: number } | null = null;

  /** `token`: the page's `?token=`, sent with the handshake (`--auth-secret`). */
  constructor(
    readonly room: string,
    private readonly sceneParam: string | null,
    private readonly token: string | null = null,
  ) {
    this.overlay = new Overlay(
      room,
      {
        watch: () => this.connect("watch"),
        play: () => this.connect("play"),
        team: (team) => this.joinTeam(team),
      },
      token,
    );
    this.node = el("div", { class: "room" }, [this.stage, this.overlay.node]);
    if (!this.webgl) {
      this.overlay.notice("This browser gives the page no WebGL, so the 3D view is off; the figures above still come from the room.");
    }
    this.listen();
  }

  /** (Re)connect in `mode`: a spectator watches; a player can walk and kick. */
  connect(mode: Mode): void {
    this.disconnect();
    this.mode = mode;
    this.walker = null;
    const client = new BallroomClient({
      url: roomSocketUrl(this.room, location.href, pageMount(document)),
      scene: this.sceneParam ?? undefined,
      spectate: mode === "watch",
      token: this.token ?? undefined,
    });
    this.client = client;
    const welcomed = (w: WelcomeMessage): void => {
      this.ensureView(w.scene);
      if (mode === "play" && this.view && !this.walker) {
        this.walker = new Walker(w.scene, this.view.ground, this.view.obstacles, spawnPoint(this.view.ground));
        this.sinceLastPose = Infinity;
      }
    };
    client.on("connected", welcomed);
    client.on("reconnected", (e) => welcomed(e.welcome));
    client.on("disconnected", (e) =>
      e.willReconnect ? this.overlay.flash(`connection lost (${e.code}); reconnecting…`) : this.overlay.notice(`connection closed (${e.code}${e.reason ? `: ${e.reason}` : ""})`),
    );
    client.on("error", (e) => this.overlay.flash(`server: ${e.code}: ${e.message}`));
    client.on("goal", (g) => this.overlay.flash(`Goal for ${g.team}! ${g.score.blue} – ${g.score.red}`));
    client.on("result", (r) => this.overlay.flash(resultLine(r.result), 8));
    client.connect();
    this.stopLoop = animate(client, (c, dt) => this.frame(c, dt));
  }

  disconnect(): void {
    this.stopLoop?.();
    this.stopLoop = null;
    this.client?.close();
    this.client = null;
  }

  private ensureView(scene: Scene): void {
    if (!this.webgl) return;
    if (this.view && this.view.sceneName === scene.name) return;
    this.view?.dispose();
    this.view = new SceneView(this.stage, scene, this.gl.software);
  }

  private frame(client: BallroomClient, dt: number): void {
    const view = this.view;
    const walker = this.walker;
    if (walker && view && client.scene) {
      if (walker.step(dt, view.groundAxes())) this.moved = true;
      this.sinceLastPose += dt;
      const due = this.moved ? POSE_INTERVAL : IDLE_POSE_INTERVAL;
      if (this.sinceLastPose >= due) this.sendPose(client, walker);
    }
    if (view && client.scene) {
      view.setBalls(client.balls());
      const own =
        walker && client.id !== null ? { id: client.id, position: walker.position, rotation: walker.rotation(), team: teamOf(client, client.id) } : null;
      view.setPlayers(client.players(), client.scene, own);
      view.follow(walker ? walker.position : null);
      view.render();
    }
    this.overlay.update(client, this.mode);
  }

  private sendPose(client: BallroomClient, walker: Walker): void {
    client.sendPose(walker.position, walker.rotation());
    this.sinceLastPose = 0;
    this.moved = false;
  }

  private joinTeam(team: Team | null): void {
    if (this.mode !== "play") return;
    this.client?.joinTeam(team);
  }

  /** Kick ball `id` from the avatar, if it is within reach (the server checks again). */
  kick(id: number): boolean {
    const client = this.client;
    const walker = this.walker;
    const scene = client?.scene;
    if (!client || !scene) return false;
    if (!walker) {
      this.overlay.flash("Press Play to kick the balls.");
      return false;
    }
    const spec = scene.balls.find((b) => b.id === id);
    const ball = client.latestBall(id)?.position ?? client.balls().find((b) => b.id === id)?.position;
    if (!spec || !ball) return false;
    const short = reachShortfall(walker.position, ball, spec.radius, scene);
    if (short > 0) {
      this.overlay.flash(`Ball ${id} is ${short.toFixed(1)} m out of reach: walk closer.`);
      return false;
    }
    // The server measures reach from the last pose it accepted: make that this one.
    this.sendPose(client, walker);
    const impulse = kickImpulse(walker.position, ball, spec.mass, scene);
    const seq = client.kick(id, impulse);
    this.lastKick = { seq, ball: id, impulse };
    this.overlay.flash(`Kicked ball ${id}.`, 2);
    return true;
  }

  private listen(): void {
    window.addEventListener("keydown", (ev) => {
      if (ev.target instanceof HTMLInputElement || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      if (this.walker?.keyDown(ev.code)) ev.preventDefault();
    });
    window.addEventListener("keyup", (ev) => this.walker?.keyUp(ev.code));
    window.addEventListener("blur", () => this.walker?.release());
    this.stage.addEventListener("pointerdown", (ev) => {
      this.press = { x: ev.clientX, y: ev.clientY, lastX: ev.clientX };
    });
    this.stage.addEventListener("pointermove", (ev) => {
      if (!this.press || !this.view || (ev.buttons & 1) === 0) return;
      this.view.yaw -= (ev.clientX - this.press.lastX) * 0.005;
      this.press.lastX = ev.clientX;
    });
    this.stage.addEventListener("pointerup", (ev) => {
      const press = this.press;
      this.press = null;
      if (!press || !this.view) return;
      if (Math.hypot(ev.clientX - press.x, ev.clientY - press.y) > CLICK_SLOP) return;
      const id = this.view.pickBall(ev.clientX, ev.clientY);
      if (id !== null) this.kick(id);
    });
    this.stage.addEventListener(
      "wheel",
      (ev) => {
        if (!this.view) return;
        ev.preventDefault();
        this.view.zoom = Math.min(3, Math.max(0.3, this.view.zoom * Math.exp(ev.deltaY * 0.001)));
      },
      { passive: false },
    );
  }

  /** A ball's centre on screen, viewport CSS pixels (for the browser test's clicks). */
  screenPositionOfBall(id: number): { x: number; y: number } | null {
    const b: RenderedBall | undefined = this.client?.balls().find((x) => x.id === id);
    return b && this.view ? this.view.project(b.position) : null;
  }

  /** How far ball `id` is beyond the avatar's reach, m (≤ 0: within reach; null: not playing). */
  reachShortfall(id: number): number | null {
    const scene = this.client?.scene;
    const spec = scene?.balls.find((b) => b.id === id);
    const ball = this.client?.latestBall(id)?.position;
    if (!scene || !spec || !ball || !this.walker) return null;
    return reachShortfall(this.walker.position, ball, spec.radius, scene);
  }
}

/** A football result (`{winner, score}`) in words; any other rules' result as JSON. */
function resultLine(result: unknown): string {
  const r = result as { winner?: unknown; score?: { blue?: unknown; red?: unknown } } | null;
  const score = r?.score;
  if (!score || typeof score.blue !== "number" || typeof score.red !== "number") return `result: ${JSON.stringify(result)}`;
  return typeof r?.winner === "string" ? `${r.winner} wins ${score.blue} – ${score.red}` : `a draw, ${score.blue} – ${score.red}`;
}
