/**
 * A headless stand-in for the Decentraland scene runtime: QuickJS (`quickjs-emscripten`)
 * inside Node, with the host objects a scene gets, made as the explorer makes them
 * (`../shared/reference/decentraland-runtime.md`):
 *
 * - no `WebAssembly`, no `performance` (the scene's clock is `Date.now()`, whole ms), no
 *   timers: the host drives the scene at 30 frames a second;
 * - a `WebSocket` that ignores its `protocols` argument, whose `protocol` is always `""`,
 *   which has only the `on…` properties, whose `binaryType` throws for anything but
 *   `"arraybuffer"`, whose `onmessage` gets `{type: "text" | "binary", data}` (the bytes as a
 *   plain array of byte values, an `ArrayBuffer` or a `Uint8Array`, as chosen) and whose
 *   `onclose` gets `{type: "close"}` with no code; `close(code, reason)` sends neither.
 *
 * The sockets are real (`ws`, no subprotocol offered), to a real server on loopback.
 */
import { readFileSync } from "node:fs";
import { dirname, posix } from "node:path";
import { type QuickJSContext, type QuickJSHandle, type QuickJSRuntime, getQuickJS } from "quickjs-emscripten";
import WebSocket from "ws";

export type ByteMode = "array" | "arraybuffer" | "uint8array";

interface HostEvent {
  id: number;
  kind: "open" | "text" | "binary" | "close" | "error";
  text?: string;
  bytes?: Uint8Array;
}

/** What the host saw on one socket. */
export interface SocketRecord {
  /** The URL the scene asked for. */
  requested: string;
  /** The URL the host connected to (after `rewriteUrl`). */
  url: string;
  /** The subprotocol the server selected (always "" here: none is offered). */
  protocol: string;
  textFrames: number;
  binaryFrames: number;
  bytesIn: number;
  open: boolean;
}

/** The explorer's `WebSocket`, as scene code sees it (runs inside QuickJS). */
const SOCKET_SOURCE = `
(() => {
  const sockets = new Map();
  const byteMode = __host.byteMode;
  class WebSocket {
    constructor(url, protocols) {
      // protocols: ignored, as the explorer does.
      this.url = String(url);
      this.readyState = 0;
      this.onopen = null; this.onmessage = null; this.onclose = null; this.onerror = null;
      this._id = __host.open(this.url);
      sockets.set(this._id, this);
    }
    get protocol() { return ""; }
    get bufferedAmount() { return 0; }
    get binaryType() { return "arraybuffer"; }
    set binaryType(v) { if (v !== "arraybuffer") throw new Error("binaryType " + v + " is not supported"); }
    send(data) {
      if (this.readyState !== 1) throw new Error("WebSocket is not open");
      if (typeof data === "string") __host.sendText(this._id, data);
      else __host.sendBytes(this._id, JSON.stringify(Array.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data)));
    }
    close(code, reason) {
      if (this.readyState >= 2) return;
      this.readyState = 2;
      __host.close(this._id);
    }
  }
  globalThis.WebSocket = WebSocket;
  globalThis.__deliver = (id, kind, payload) => {
    const s = sockets.get(id);
    if (!s) return;
    if (kind === "open") { s.readyState = 1; if (s.onopen) s.onopen({ type: "open" }); }
    else if (kind === "text") { if (s.onmessage) s.onmessage({ type: "text", data: payload }); }
    else if (kind === "binary") {
      const data = byteMode === "array" ? Array.from(new Uint8Array(payload))
        : byteMode === "uint8array" ? new Uint8Array(payload) : payload;
      if (s.onmessage) s.onmessage({ type: "binary", data });
    } else if (kind === "error") { if (s.onerror) s.onerror({ type: "error" }); }
    else if (kind === "close") { s.readyState = 3; sockets.delete(id); if (s.onclose) s.onclose({ type: "close" }); }
  };
  globalThis.console = { log: (...a) => __host.log(a.map(String).join(" ")), error: (...a) => __host.log(a.map(String).join(" ")) };
  globalThis.console.warn = globalThis.console.error;
  globalThis.console.info = globalThis.console.log;
  delete globalThis.performance;
})();
`;

export class SceneRuntime {
  readonly sockets = new Map<number, SocketRecord>();
  readonly logs: string[] = [];
  private readonly queue: HostEvent[] = [];
  private readonly live = new Map<number, WebSocket>();
  private nextId = 0;
  private readonly modules = new Map<string, string>();
  private rewriteUrl: (url: string) => string = (url) => url;

  private constructor(
    private readonly runtime: QuickJSRuntime,
    readonly vm: QuickJSContext,
  ) {}

  /**
   * A fresh QuickJS context with the explorer's host objects; `modules` maps import names
   * to file paths; `rewriteUrl` maps the URL a scene's socket asks for to the one the
   * host connects to (a scene's `wss://` server to the local test server).
   */
  static async create(options: {
    byteMode: ByteMode;
    modules?: Record<string, string>;
    rewriteUrl?: (url: string) => string;
  }): Promise<SceneRuntime> {
    const qjs = await getQuickJS();
    const runtime = qjs.newRuntime();
    runtime.setMemoryLimit(256 * 1024 * 1024);
    runtime.setMaxStackSize(4 * 1024 * 1024);
    const vm = runtime.newContext();
    const host = new SceneRuntime(runtime, vm);
    if (options.rewriteUrl) host.rewriteUrl = options.rewriteUrl;
    for (const [name, file] of Object.entries(options.modules ?? {})) host.modules.set(name, file);
    runtime.setModuleLoader(
      (name) => readFileSync(name, "utf8"),
      (base, requested) => {
        const mapped = host.modules.get(requested);
        if (mapped) return mapped;
        if (requested.startsWith(".")) return posix.normalize(posix.join(dirname(base), requested));
        return requested;
      },
    );
    host.installHost(options.byteMode);
    return host;
  }

  /** Add a function `__host[name]` that scene-side host code can call (strings and numbers in, a string or nothing out). */
  defineHost(name: string, impl: (...args: (string | number)[]) => string | number | undefined): void {
    const vm = this.vm;
    const h = vm.getProp(vm.global, "__host");
    const f = vm.newFunction(name, (...args) => {
      const values = args.map((a) => {
        const v: unknown = vm.dump(a);
        return typeof v === "number" ? v : String(v);
      });
      const out = impl(...values);
      if (out === undefined) return undefined;
      return typeof out === "number" ? vm.newNumber(out) : vm.newString(out);
    });
    vm.setProp(h, name, f);
    f.dispose();
    h.dispose();
  }

  private installHost(byteMode: ByteMode): void {
    const vm = this.vm;
    const h = vm.newObject();
    const fn = (name: string, impl: (...args: QuickJSHandle[]) => QuickJSHandle | undefined): void => {
      const f = vm.newFunction(name, impl);
      vm.setProp(h, name, f);
      f.dispose();
    };
    fn("open", (url) => vm.newNumber(this.openSocket(vm.getString(url))));
    fn("sendText", (id, text) => {
      this.live.get(vm.getNumber(id))?.send(vm.getString(text));
      return undefined;
    });
    fn("sendBytes", (id, json) => {
      this.live.get(vm.getNumber(id))?.send(Uint8Array.from(JSON.parse(vm.getString(json)) as number[]));
      return undefined;
    });
    fn("close", (id) => {
      this.live.get(vm.getNumber(id))?.close();
      return undefined;
    });
    fn("log", (text) => {
      this.logs.push(vm.getString(text));
      return undefined;
    });
    const mode = vm.newString(byteMode);
    vm.setProp(h, "byteMode", mode);
    mode.dispose();
    vm.setProp(vm.global, "__host", h);
    h.dispose();
    vm.unwrapResult(vm.evalCode(SOCKET_SOURCE, "host-websocket.js", { type: "global" })).dispose();
  }

  private openSocket(requested: string): number {
    const id = ++this.nextId;
    const url = this.rewriteUrl(requested);
    const u = new URL(url);
    if (u.hostname !== "127.0.0.1") throw new Error(`the harness connects to loopback only, not ${u.hostname}`);
    const record: SocketRecord = { requested, url, protocol: "", textFrames: 0, binaryFrames: 0, bytesIn: 0, open: false };
    this.sockets.set(id, record);
    const ws = new WebSocket(url); // no protocols: the explorer never offers one
    this.live.set(id, ws);
    ws.on("open", () => {
      record.open = true;
      record.protocol = ws.protocol;
      this.queue.push({ id, kind: "open" });
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      record.bytesIn += data.length;
      if (isBinary) {
        record.binaryFrames++;
        this.queue.push({ id, kind: "binary", bytes: new Uint8Array(data) });
      } else {
        record.textFrames++;
        this.queue.push({ id, kind: "text", text: data.toString("utf8") });
      }
    });
    ws.on("error", () => this.queue.push({ id, kind: "error" }));
    ws.on("close", () => {
      record.open = false;
      this.live.delete(id);
      this.queue.push({ id, kind: "close" });
    });
    return id;
  }

  /** Drop a socket as a network failure would (no close handshake). */
  dropSocket(id: number): void {
    this.live.get(id)?.terminate();
  }

  /** Evaluate an ES module (may import the mapped modules and relative files). */
  evalModule(code: string, filename: string): void {
    const result = this.vm.evalCode(code, filename, { type: "module" });
    this.vm.unwrapResult(result).dispose();
    this.runJobs();
  }

  /** Evaluate a script (global code, e.g. a scene's CommonJS bundle); its value is dropped. */
  evalScript(code: string, filename: string): void {
    this.vm.unwrapResult(this.vm.evalCode(code, filename, { type: "global" })).dispose();
    this.runJobs();
  }

  /** Evaluate global code and return its value as a JS value (`vm.dump`). */
  eval(code: string): unknown {
    const handle = this.vm.unwrapResult(this.vm.evalCode(code, "host-eval.js", { type: "global" }));
    const value: unknown = this.vm.dump(handle);
    handle.dispose();
    this.runJobs();
    return value;
  }

  /** Hand the socket events that arrived since the last frame to the scene, in order. */
  pump(): void {
    const deliver = this.vm.getProp(this.vm.global, "__deliver");
    try {
      for (const ev of this.queue.splice(0)) {
        const id = this.vm.newNumber(ev.id);
        const kind = this.vm.newString(ev.kind);
        const payload =
          ev.kind === "text"
            ? this.vm.newString(ev.text ?? "")
            : ev.kind === "binary"
              ? this.vm.newArrayBuffer(ev.bytes!.slice().buffer)
              : this.vm.undefined;
        const r = this.vm.callFunction(deliver, this.vm.undefined, id, kind, payload);
        id.dispose();
        kind.dispose();
        payload.dispose();
        this.vm.unwrapResult(r).dispose();
        this.runJobs();
      }
    } finally {
      deliver.dispose();
    }
  }

  private runJobs(): void {
    const r = this.runtime.executePendingJobs();
    if (r.error) {
      const e: unknown = this.vm.dump(r.error);
      r.error.dispose();
      throw new Error(`scene job failed: ${JSON.stringify(e)}`);
    }
  }

  dispose(): void {
    for (const ws of this.live.values()) ws.terminate();
    this.live.clear();
    this.vm.dispose();
    this.runtime.dispose();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The engine's update loop: every 1/30 s, deliver the socket events, then `frame(dt)`
 * (dt in seconds, measured), until `until()` or `timeout` seconds (then reject with `what`).
 */
export async function runSceneFrames(
  runtimes: SceneRuntime[],
  frame: (rt: SceneRuntime, dt: number) => void,
  until: () => boolean,
  timeout: number,
  what: string,
): Promise<void> {
  const start = performance.now();
  let last = start;
  let next = start;
  for (;;) {
    const t = performance.now();
    const dt = (t - last) / 1000;
    last = t;
    for (const rt of runtimes) {
      rt.pump();
      frame(rt, dt);
    }
    if (until()) return;
    if (t - start > timeout * 1000) throw new Error(`timed out after ${timeout} s waiting for ${what}`);
    next += 1000 / 30;
    await sleep(Math.max(0, next - performance.now()));
  }
}
