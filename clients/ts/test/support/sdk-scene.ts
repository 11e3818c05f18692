/**
 * A built Decentraland SDK7 scene bundle (`bin/index.js` from `sdk-commands build`) run on
 * the `SceneRuntime` (QuickJS, the explorer's socket, no WebAssembly, a millisecond clock),
 * with the two runtime modules the SDK calls, made as an explorer makes them:
 *
 * - `~system/EngineApi`: `crdtSendToRenderer` takes the scene's CRDT messages (this host
 *   keeps the component values it is sent: the "rendered" state) and answers with the
 *   renderer's messages (the player's `Transform`, pointer clicks); `crdtGetState`,
 *   `sendBatch` and `subscribe` answer empty;
 * - `~system/Runtime`: `getRealm` names the realm.
 *
 * The bundle is CommonJS: `module.exports.onStart()` once, then `onUpdate(dt)` every
 * frame, as the runtime calls them.
 */
import { readFileSync } from "node:fs";
import { type ByteMode, SceneRuntime } from "./scene-runtime.js";

/** Component ids of the SDK (`@dcl/ecs`). */
export const TRANSFORM = 1;
export const POINTER_EVENTS = 1062;
export const POINTER_EVENTS_RESULT = 1063;
export const AVATAR_SHAPE = 1080;
/** `engine.PlayerEntity`. */
export const PLAYER_ENTITY = 1;

const PUT_COMPONENT = 1;
const DELETE_COMPONENT = 2;
const DELETE_ENTITY = 3;
const APPEND_VALUE = 4;

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

const MODULES_SOURCE = `
(() => {
  const bytes = (list) => JSON.parse(list).map((a) => new Uint8Array(a));
  const modules = {
    "~system/EngineApi": {
      crdtSendToRenderer: async (req) => ({ data: bytes(__host.crdtSend(JSON.stringify(Array.from(req.data)))) }),
      crdtGetState: async () => ({ hasEntities: false, data: [] }),
      sendBatch: async () => ({ events: [] }),
      subscribe: async () => ({}),
      unsubscribe: async () => ({}),
    },
    "~system/Runtime": {
      getRealm: async () => JSON.parse(__host.realm()),
      getWorldTime: async () => ({ seconds: 0 }),
      readFile: async (req) => { throw new Error("no file " + req.fileName); },
    },
  };
  globalThis.require = (name) => {
    const m = modules[name];
    if (!m) throw new Error("module not found: " + name);
    return m;
  };
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
})();
`;

/** One CRDT message with its header (little-endian, as `@dcl/ecs` writes them). */
function message(type: number, fields: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 * fields.length + 4 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length, true);
  view.setUint32(4, type, true);
  fields.forEach((f, i) => view.setUint32(8 + 4 * i, f, true));
  view.setUint32(8 + 4 * fields.length, data.length, true);
  out.set(data, 12 + 4 * fields.length);
  return out;
}

/** Protocol buffers, the little this host writes. */
class Proto {
  private readonly bytes: number[] = [];
  varint(field: number, value: number): this {
    this.raw((field << 3) | 0);
    this.raw(value);
    return this;
  }
  float(field: number, value: number): this {
    this.raw((field << 3) | 5);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    this.bytes.push(...b);
    return this;
  }
  message(field: number, inner: Proto): this {
    const b = inner.done();
    this.raw((field << 3) | 2);
    this.raw(b.length);
    this.bytes.push(...b);
    return this;
  }
  private raw(v: number): void {
    let x = v >>> 0;
    while (x >= 0x80) {
      this.bytes.push((x & 0x7f) | 0x80);
      x >>>= 7;
    }
    this.bytes.push(x);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const vector = (v: Vec3): Proto => new Proto().float(1, v.x).float(2, v.y).float(3, v.z);

export class SdkScene {
  /** Component values the scene sent to the renderer: entity → component id → bytes. */
  readonly rendered = new Map<number, Map<number, Uint8Array>>();
  private readonly toScene: Uint8Array[] = [];
  private lamport = 1;
  private clicks = 0;
  private started = false;

  private constructor(readonly rt: SceneRuntime) {}

  /** Load `bundle` (a built scene) in a fresh runtime, in realm `realm`. */
  static async load(
    bundle: string,
    options: { realm: string; byteMode: ByteMode; rewriteUrl: (url: string) => string },
  ): Promise<SdkScene> {
    const rt = await SceneRuntime.create({ byteMode: options.byteMode, rewriteUrl: options.rewriteUrl });
    const scene = new SdkScene(rt);
    const realm = JSON.stringify({
      realmInfo: { baseUrl: "http://127.0.0.1", realmName: options.realm, networkId: 1, commsAdapter: "", isPreview: true },
    });
    rt.defineHost("realm", () => realm);
    rt.defineHost("crdtSend", (data) => scene.crdtSend(String(data)));
    rt.evalScript(MODULES_SOURCE, "system-modules.js");
    rt.evalScript(readFileSync(bundle, "utf8"), "bin/index.js");
    return scene;
  }

  private crdtSend(json: string): string {
    const bytes = Uint8Array.from(JSON.parse(json) as number[]);
    const view = new DataView(bytes.buffer);
    for (let at = 0; at + 8 <= bytes.length; ) {
      const length = view.getUint32(at, true);
      const type = view.getUint32(at + 4, true);
      if (length < 8 || at + length > bytes.length) break;
      if (type === PUT_COMPONENT || type === APPEND_VALUE) {
        const entity = view.getUint32(at + 8, true);
        const component = view.getUint32(at + 12, true);
        const size = view.getUint32(at + 20, true);
        const data = bytes.slice(at + 24, at + 24 + size);
        let components = this.rendered.get(entity);
        if (!components) this.rendered.set(entity, (components = new Map()));
        components.set(component, data);
      } else if (type === DELETE_COMPONENT) {
        this.rendered.get(view.getUint32(at + 8, true))?.delete(view.getUint32(at + 12, true));
      } else if (type === DELETE_ENTITY) {
        this.rendered.delete(view.getUint32(at + 8, true));
      }
      at += length;
    }
    return JSON.stringify(this.toScene.splice(0).map((m) => Array.from(m)));
  }

  /** The renderer moves the player (`engine.PlayerEntity`'s Transform). */
  setPlayer(position: Vec3): void {
    const data = new Uint8Array(44);
    const v = new DataView(data.buffer);
    [position.x, position.y, position.z, 0, 0, 0, 1, 1, 1, 1].forEach((x, i) => v.setFloat32(4 * i, x, true));
    this.toScene.push(message(PUT_COMPONENT, [PLAYER_ENTITY, TRANSFORM, ++this.lamport], data));
  }

  /** The player clicks (pointer button down) on `entity` at `point`. */
  click(entity: number, point: Vec3): void {
    const hit = new Proto().message(1, vector(point)).float(5, 1).varint(7, entity);
    // button IA_POINTER (0) is the default; state PET_DOWN = 1.
    const result = new Proto().message(2, hit).varint(4, 1).varint(5, ++this.clicks).varint(7, this.clicks).done();
    this.toScene.push(message(APPEND_VALUE, [entity, POINTER_EVENTS_RESULT, ++this.lamport], result));
  }

  /** The position of `entity`'s rendered Transform, if it has one. */
  position(entity: number): Vec3 | undefined {
    const t = this.rendered.get(entity)?.get(TRANSFORM);
    if (!t || t.length < 12) return undefined;
    const v = new DataView(t.buffer, t.byteOffset, t.byteLength);
    return { x: v.getFloat32(0, true), y: v.getFloat32(4, true), z: v.getFloat32(8, true) };
  }

  /** Entities that have component `id` in the rendered state. */
  entitiesWith(id: number): number[] {
    return [...this.rendered].filter(([, c]) => c.has(id)).map(([e]) => e);
  }

  /** One frame of the engine: deliver socket events, then `onStart` (first frame) or `onUpdate(dt)`. */
  frame(dt: number): void {
    this.rt.pump();
    if (!this.started) {
      this.started = true;
      this.rt.eval(`module.exports.onStart().catch((e) => console.error("onStart failed: " + e + " " + (e && e.stack))); 0`);
    }
    this.rt.eval(`module.exports.onUpdate(${dt}).catch((e) => console.error("onUpdate failed: " + e + " " + (e && e.stack))); 0`);
  }

  dispose(): void {
    this.rt.dispose();
  }
}
