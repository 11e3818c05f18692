/**
 * The 3D view: three.js meshes built from the `welcome`'s scene (statics, goal sensors,
 * balls) and the players as capsule avatars in their team's colour; a camera that frames
 * the whole scene, or follows the player's avatar; projection and picking for clicks.
 * It draws what it is given and knows nothing of the network.
 */
import {
  Box3,
  BoxGeometry,
  CapsuleGeometry,
  CircleGeometry,
  Color,
  CylinderGeometry,
  DirectionalLight,
  EdgesGeometry,
  Float32BufferAttribute,
  GridHelper,
  Group,
  HemisphereLight,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  MeshBasicMaterial,
  MeshLambertMaterial,
  PerspectiveCamera,
  Raycaster,
  RingGeometry,
  Scene as ThreeScene,
  SphereGeometry,
  Vector2,
  Vector3,
  WebGLRenderer,
  type BufferGeometry,
  type Material,
} from "three";
import type { RenderedBall, RenderedPlayer } from "../../clients/ts/src/api.js";
import type { Scene, SceneStatic, Shape } from "../../clients/ts/src/protocol/messages.js";
import type { Quat, Team, Vec3 } from "../../clients/ts/src/types.js";
import { type ModelsLoaded, addModels, modelsGround } from "./models3d.js";

/** Whether this browser gives the page WebGL, and whether it renders in software (no GPU). */
export function probeWebgl(): { available: boolean; software: boolean } {
  try {
    const canvas = document.createElement("canvas");
    const gl = canvas.getContext("webgl2") ?? canvas.getContext("webgl");
    if (!gl) return { available: false, software: false };
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return { available: true, software: /swiftshader|llvmpipe|software/i.test(renderer) };
  } catch {
    return { available: false, software: false };
  }
}

const TEAM_COLOUR: Record<Team | "none", number> = { blue: 0x2f6fdf, red: 0xd64040, none: 0xb8b8b8 };
const BALL_COLOURS = [0xff8c1a, 0xe83e8c, 0x20c997, 0xffd43b, 0x845ef7, 0x4dabf7];

/** The walkable floor's extent, in world XZ, and its height. */
export interface Ground {
  minX: number;
  maxX: number;
  minZ: number;
  maxZ: number;
  y: number;
}

/** An axis-aligned box an avatar cannot walk through. */
export interface Obstacle {
  min: Vec3;
  max: Vec3;
}

function geometryOf(shape: Shape): BufferGeometry {
  switch (shape.type) {
    case "cuboid":
      return new BoxGeometry(2 * shape.half_extents[0], 2 * shape.half_extents[1], 2 * shape.half_extents[2]);
    case "ball":
      return new SphereGeometry(shape.radius, 24, 12);
    case "capsule":
      return new CapsuleGeometry(shape.radius, 2 * shape.half_height, 4, 12);
    case "cylinder":
      return new CylinderGeometry(shape.radius, shape.radius, 2 * shape.half_height, 24);
  }
}

/** A sphere with six coloured and white gores, so its spin shows. */
function ballGeometry(radius: number, colour: number): BufferGeometry {
  const g = new SphereGeometry(radius, 32, 16);
  const pos = g.getAttribute("position");
  const base = new Color(colour);
  const white = new Color(0xf4f4f4);
  const colours: number[] = [];
  for (let i = 0; i < pos.count; i++) {
    const sector = Math.floor(((Math.atan2(pos.getZ(i), pos.getX(i)) + Math.PI) / (2 * Math.PI)) * 6) % 6;
    const c = sector % 2 === 0 ? base : white;
    colours.push(c.r, c.g, c.b);
  }
  g.setAttribute("color", new Float32BufferAttribute(colours, 3));
  return g;
}

interface BallMesh {
  mesh: Mesh;
  shadow: Mesh<CircleGeometry, MeshBasicMaterial>;
  radius: number;
}

interface Avatar {
  group: Group;
  body: MeshLambertMaterial;
  team: Team | null;
}

export class SceneView {
  readonly canvas: HTMLCanvasElement;
  readonly sceneName: string;
  readonly ground: Ground;
  readonly obstacles: Obstacle[] = [];
  /** Camera azimuth, radians: 0 looks along +z. Dragging turns it. */
  yaw = 0;
  /** Camera distance factor: the wheel changes it. */
  zoom = 1;

  private readonly renderer: WebGLRenderer;
  private readonly camera = new PerspectiveCamera(50, 16 / 9, 0.1, 500);
  private readonly world = new ThreeScene();
  private readonly balls = new Map<number, BallMesh>();
  private readonly avatars = new Map<number, Avatar>();
  private readonly raycaster = new Raycaster();
  private readonly container: HTMLElement;
  private readonly resizeObserver: ResizeObserver;
  private followTarget: Vec3 | null = null;
  /** The scene's glTF models once fetched and drawn (`null` while loading or without models). */
  models: ModelsLoaded | null = null;

  /** `software`: WebGL runs on the CPU (no GPU), so draw fewer pixels and skip antialiasing. */
  constructor(container: HTMLElement, scene: Scene, software = false) {
    this.container = container;
    this.sceneName = scene.name;
    this.renderer = new WebGLRenderer({ antialias: !software });
    this.renderer.setPixelRatio(software ? 1 : Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0x1b2430);
    this.canvas = this.renderer.domElement;
    this.canvas.className = "view3d";
    container.append(this.canvas);

    this.world.add(new HemisphereLight(0xe4ecff, 0x40502f, 1.6));
    const sun = new DirectionalLight(0xffffff, 1.6);
    sun.position.set(0.4, 1, -0.6);
    this.world.add(sun);

    this.ground = this.addStatics(scene);
    // In a match, look from the side that puts blue's goal on the left, as the score reads.
    const blueGoal = Object.entries(goalsOf(scene)).find(([, team]) => team === "blue")?.[0];
    const blueX = scene.statics.find((s) => s.name === blueGoal)?.position[0];
    if (blueX !== undefined && blueX < (this.ground.minX + this.ground.maxX) / 2) this.yaw = Math.PI;
    if (scene.models?.length) {
      const models = new Group();
      this.world.add(models);
      void addModels(models, scene.models, window.location.href).then((loaded) => {
        // Blue's goal on the left, as for statics, when it is a sensor of a model.
        const sensor = blueGoal === undefined ? undefined : models.getObjectByName(`${blueGoal}_sensor`);
        if (sensor) {
          const x = new Box3().setFromObject(sensor).getCenter(new Vector3()).x;
          if (x < (this.ground.minX + this.ground.maxX) / 2) this.yaw = Math.PI;
        }
        this.models = loaded;
        for (const reason of loaded.failed) console.warn(`model not drawn: ${reason}`);
      });
    }
    this.addGrid();
    scene.balls.forEach((b, i) => {
      const colour = BALL_COLOURS[i % BALL_COLOURS.length]!;
      // A body of another shape is drawn as that shape (a convex hull as its bounding ball).
      const shape = b.shape && b.shape.type !== "ball" && b.shape.type !== "convex_hull" ? b.shape : null;
      const mesh = shape
        ? new Mesh(geometryOf(shape), new MeshLambertMaterial({ color: colour }))
        : new Mesh(ballGeometry(b.radius, colour), new MeshLambertMaterial({ vertexColors: true }));
      mesh.position.set(...b.position);
      const shadow = new Mesh(
        new CircleGeometry(b.radius, 24),
        new MeshBasicMaterial({ color: 0x000000, transparent: true, opacity: 0.3, depthWrite: false }),
      );
      shadow.rotation.x = -Math.PI / 2;
      this.world.add(mesh, shadow);
      this.balls.set(b.id, { mesh, shadow, radius: b.radius });
    });

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
  }

  /** Statics as meshes; returns the ground (the largest flat static at the bottom). */
  private addStatics(scene: Scene): Ground {
    const goals = goalsOf(scene);
    // Walls and roofs are glass with faint edges, so the camera sees through them; low
    // statics (goal frames, obstacles) are white and half transparent, with clear edges.
    const glass = new MeshLambertMaterial({ color: 0x9fb4c8, transparent: true, opacity: 0.06, depthWrite: false });
    const glassEdges = new LineBasicMaterial({ color: 0xc8d6e5, transparent: true, opacity: 0.22 });
    const solid = new MeshLambertMaterial({ color: 0xf0f0f0, transparent: true, opacity: 0.45, depthWrite: false });
    const solidEdges = new LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.8 });
    const turf = new MeshLambertMaterial({ color: 0x3f8f4f });
    const built = scene.statics.map((s) => {
      const geometry = geometryOf(s.shape);
      const mesh = new Mesh(geometry);
      mesh.position.set(...s.position);
      mesh.quaternion.set(...s.rotation);
      mesh.updateMatrixWorld(true);
      return { s, mesh, box: new Box3().setFromObject(mesh) };
    });
    const flat = built.filter(({ s, box }) => {
      const size = box.getSize(new Vector3());
      return !s.sensor && box.max.y < 1 && size.y < Math.min(size.x, size.z) / 4;
    });
    const area = (b: Box3): number => (b.max.x - b.min.x) * (b.max.z - b.min.z);
    const floor = flat.sort((a, b) => area(b.box) - area(a.box))[0];
    for (const { s, mesh, box } of built) {
      let material: Material;
      if (floor && mesh === floor.mesh) material = turf;
      else if (s.sensor) material = this.sensorMaterial(s, goals);
      else if (box.max.y <= 3) material = solid;
      else material = glass;
      mesh.material = material;
      this.world.add(mesh);
      if (material === glass || material === solid) {
        const lines = new LineSegments(new EdgesGeometry(mesh.geometry), material === glass ? glassEdges : solidEdges);
        lines.position.copy(mesh.position);
        lines.quaternion.copy(mesh.quaternion);
        this.world.add(lines);
      }
      if (!s.sensor && !(floor && mesh === floor.mesh)) {
        this.obstacles.push({ min: { x: box.min.x, y: box.min.y, z: box.min.z }, max: { x: box.max.x, y: box.max.y, z: box.max.z } });
      }
    }
    if (floor) return { minX: floor.box.min.x, maxX: floor.box.max.x, minZ: floor.box.min.z, maxZ: floor.box.max.z, y: floor.box.max.y };
    // No floor among the statics: the models' box, or else the balls' spawn points.
    const fromModels = modelsGround(scene.models ?? []);
    if (fromModels) return fromModels;
    const xs = scene.balls.map((b) => b.position[0]);
    const zs = scene.balls.map((b) => b.position[2]);
    return { minX: Math.min(0, ...xs) - 8, maxX: Math.max(0, ...xs) + 8, minZ: Math.min(0, ...zs) - 8, maxZ: Math.max(0, ...zs) + 8, y: 0 };
  }

  private sensorMaterial(s: SceneStatic, goals: Record<string, unknown>): Material {
    const team = s.name !== undefined ? goals[s.name] : undefined;
    const colour = team === "blue" || team === "red" ? TEAM_COLOUR[team] : 0xffd43b;
    return new MeshLambertMaterial({ color: colour, transparent: true, opacity: 0.35, depthWrite: false });
  }

  private addGrid(): void {
    const g = this.ground;
    const size = Math.ceil(Math.max(g.maxX - g.minX, g.maxZ - g.minZ));
    const grid = new GridHelper(size, size, 0x6fbf7f, 0x5aa86a);
    const material = grid.material as Material;
    material.transparent = true;
    material.opacity = 0.3;
    grid.position.set((g.minX + g.maxX) / 2, g.y + 0.01, (g.minZ + g.maxZ) / 2);
    this.world.add(grid);
  }

  // ---- per frame ---------------------------------------------------------------------

  setBalls(balls: readonly RenderedBall[]): void {
    for (const b of balls) {
      const m = this.balls.get(b.id);
      if (!m) continue;
      m.mesh.position.set(b.position.x, b.position.y, b.position.z);
      m.mesh.quaternion.set(b.rotation.x, b.rotation.y, b.rotation.z, b.rotation.w);
      const height = Math.max(0, b.position.y - m.radius - this.ground.y);
      const s = Math.max(0.3, 1 - height / 12);
      m.shadow.position.set(b.position.x, this.ground.y + 0.02, b.position.z);
      m.shadow.scale.setScalar(s);
      m.shadow.material.opacity = 0.3 * s;
    }
  }

  /** Draw `players` (others, interpolated) and, when playing, `own` (this client's local pose). */
  setPlayers(players: readonly RenderedPlayer[], scene: Scene, own: { id: number; position: Vec3; rotation: Quat; team: Team | null } | null): void {
    const seen = new Set<number>();
    const show = (id: number, position: Vec3, rotation: Quat, team: Team | null, self: boolean): void => {
      seen.add(id);
      let a = this.avatars.get(id);
      if (!a) {
        a = this.makeAvatar(scene, self, team);
        this.avatars.set(id, a);
        this.world.add(a.group);
      } else if (a.team !== team) {
        a.team = team;
        a.body.color.setHex(TEAM_COLOUR[team ?? "none"]);
      }
      a.group.position.set(position.x, position.y, position.z);
      a.group.quaternion.set(rotation.x, rotation.y, rotation.z, rotation.w);
    };
    for (const p of players) if (!(own && p.client === own.id)) show(p.client, p.position, p.rotation, p.team, false);
    if (own) show(own.id, own.position, own.rotation, own.team, true);
    for (const [id, a] of this.avatars) {
      if (!seen.has(id)) {
        this.world.remove(a.group);
        this.avatars.delete(id);
      }
    }
  }

  private makeAvatar(scene: Scene, self: boolean, team: Team | null): Avatar {
    const { radius, height } = scene.player;
    const body = new MeshLambertMaterial({ color: TEAM_COLOUR[team ?? "none"] });
    const group = new Group();
    const capsule = new Mesh(new CapsuleGeometry(radius, Math.max(0.01, height - 2 * radius), 4, 12), body);
    capsule.position.y = height / 2;
    // A visor on the +z side shows which way the avatar faces.
    const visor = new Mesh(new BoxGeometry(radius * 1.2, radius * 0.35, radius * 0.5), new MeshLambertMaterial({ color: 0x222831 }));
    visor.position.set(0, height - radius * 0.9, radius * 0.85);
    group.add(capsule, visor);
    if (self) {
      const ring = new Mesh(
        new RingGeometry(radius * 1.3, radius * 1.7, 32),
        new MeshBasicMaterial({ color: 0xffe066, transparent: true, opacity: 0.9, depthWrite: false }),
      );
      ring.rotation.x = -Math.PI / 2;
      ring.position.y = 0.03;
      group.add(ring);
    }
    return { group, body, team };
  }

  /** Follow a point (the player's feet) with the camera, or `null` to frame the whole scene. */
  follow(target: Vec3 | null): void {
    this.followTarget = target;
  }

  render(): void {
    this.placeCamera();
    this.renderer.render(this.world, this.camera);
  }

  private placeCamera(): void {
    const g = this.ground;
    let target: Vector3;
    let distance: number;
    let pitch: number;
    if (this.followTarget) {
      target = new Vector3(this.followTarget.x, this.followTarget.y + 1, this.followTarget.z);
      distance = 10 * this.zoom;
      pitch = 0.55;
    } else {
      target = new Vector3((g.minX + g.maxX) / 2, g.y, (g.minZ + g.maxZ) / 2);
      pitch = 0.8;
      const halfX = (g.maxX - g.minX) / 2;
      const halfZ = (g.maxZ - g.minZ) / 2;
      // Fit the floor, as seen along the current azimuth, into both fields of view.
      const across = Math.abs(Math.cos(this.yaw)) * halfX + Math.abs(Math.sin(this.yaw)) * halfZ;
      const along = Math.abs(Math.sin(this.yaw)) * halfX + Math.abs(Math.cos(this.yaw)) * halfZ;
      const vHalf = (this.camera.fov * Math.PI) / 360;
      const hHalf = Math.atan(Math.tan(vHalf) * this.camera.aspect);
      distance = Math.max(across / Math.tan(hHalf) + along * Math.cos(pitch), (along * Math.sin(pitch) + 1) / Math.tan(vHalf)) * 1.05 * this.zoom;
    }
    const flat = Math.cos(pitch) * distance;
    this.camera.position.set(target.x - Math.sin(this.yaw) * flat, target.y + Math.sin(pitch) * distance, target.z - Math.cos(this.yaw) * flat);
    this.camera.lookAt(target);
    this.camera.updateMatrixWorld();
  }

  /** Where the camera looks along the ground: unit vectors (forward, right) in world XZ. */
  groundAxes(): { forward: Vec3; right: Vec3 } {
    const forward = { x: Math.sin(this.yaw), y: 0, z: Math.cos(this.yaw) };
    // Screen right, seen from above with y up, is forward turned clockwise.
    return { forward, right: { x: -forward.z, y: 0, z: forward.x } };
  }

  /** A world point in viewport CSS pixels (`null` behind the camera). */
  project(p: Vec3): { x: number; y: number } | null {
    this.placeCamera();
    const v = new Vector3(p.x, p.y, p.z).project(this.camera);
    if (v.z > 1 || v.z < -1) return null;
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + ((v.x + 1) / 2) * rect.width, y: rect.top + ((1 - v.y) / 2) * rect.height };
  }

  /** The ball under a viewport point, if any. */
  pickBall(clientX: number, clientY: number): number | null {
    const rect = this.canvas.getBoundingClientRect();
    const ndc = new Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -(((clientY - rect.top) / rect.height) * 2 - 1));
    this.placeCamera();
    this.raycaster.setFromCamera(ndc, this.camera);
    const meshes = [...this.balls.values()].map((b) => b.mesh);
    const hit = this.raycaster.intersectObjects(meshes, false)[0];
    if (!hit) return null;
    for (const [id, b] of this.balls) if (b.mesh === hit.object) return id;
    return null;
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.renderer.dispose();
    this.canvas.remove();
  }
}

/** The goal sensors of a football scene (its rules' `goals` option): sensor name → the team defending it. */
function goalsOf(scene: Scene): Record<string, unknown> {
  const goals = scene.rules_options?.["goals"];
  return typeof goals === "object" && goals !== null ? (goals as Record<string, unknown>) : {};
}
