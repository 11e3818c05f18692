// The rules sandbox's prelude: evaluated once per room before the rules module, it makes
// the globals reproducible (a seeded `Math.random`, a `Date` that tells room time, local
// time read as UTC) and builds the `room` object the hooks receive. It returns a setup
// function that `sandbox.rs` calls with the seed words and the native functions of
// `room_api.rs`; it keeps what the host calls (`install`, `invoke`, `restore`) under the
// global `__ballroom__`, which the rules can neither replace nor delete.
(function (seed, natives) {
  "use strict";

  // sfc32, seeded with four 32-bit words (SplitMix64 of the room's seed, see sandbox.rs).
  let a = seed[0] >>> 0, b = seed[1] >>> 0, c = seed[2] >>> 0, d = seed[3] >>> 0;
  function random() {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  for (let i = 0; i < 12; i++) random();
  Object.defineProperty(Math, "random", { value: random, writable: false, configurable: false });

  // What the hook being served may read: room tick, room time (s), the saved state.
  const cur = { tick: 0, time: 0, state: null, options: Object.freeze({}) };
  const deepFreeze = (v) => {
    if (v !== null && typeof v === "object") {
      for (const k of Object.keys(v)) deepFreeze(v[k]);
      Object.freeze(v);
    }
    return v;
  };
  const nowMs = () => Math.round(cur.time * 1000);

  const RealDate = Date;
  function RoomDate(...args) {
    if (new.target === undefined) return new RealDate(nowMs()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [nowMs()] : args, new.target);
  }
  RoomDate.prototype = RealDate.prototype;
  RoomDate.now = function now() { return nowMs(); };
  RoomDate.parse = RealDate.parse;
  RoomDate.UTC = RealDate.UTC;
  const proto = RealDate.prototype;
  Object.defineProperty(proto, "constructor", { value: RoomDate, writable: true, configurable: true });
  // Local time is the server's: read it as UTC so rules do not depend on where they run.
  for (const part of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"]) {
    proto["get" + part] = proto["getUTC" + part];
    if (part !== "Day") proto["set" + part] = proto["setUTC" + part];
  }
  proto.getTimezoneOffset = function getTimezoneOffset() { return 0; };
  globalThis.Date = RoomDate;

  const room = Object.freeze({
    get tick() { return cur.tick; },
    get time() { return cur.time; },
    get state() { return cur.state; },
    get options() { return cur.options; },
    clients() { return natives.clients(); },
    balls() { return natives.balls(); },
    resetBall(id, position) { natives.resetBall(id, position); },
    applyImpulse(id, impulse) { natives.applyImpulse(id, impulse); },
    setTeam(clientId, team) { natives.setTeam(clientId, team); },
    send(clientId, name, data) { natives.send(clientId, name, data); },
    broadcast(name, data) { natives.broadcast(name, data); },
    setState(state) { cur.state = natives.setState(state); },
    end(result) { natives.end(result); },
  });

  let hooks = Object.freeze({});
  const api = Object.freeze({
    // The module's hooks, checked by sandbox.rs, taken once: later changes to the
    // exported object do not add or replace hooks.
    install(exported, names) {
      const taken = {};
      for (const name of names) taken[name] = exported[name];
      hooks = Object.freeze(taken);
    },
    invoke(tick, time, name, a1, a2, a3) {
      cur.tick = tick;
      cur.time = time;
      return hooks[name](room, a1, a2, a3);
    },
    restore(state) { cur.state = state; },
    options(options) { cur.options = deepFreeze(options ?? {}); },
  });
  Object.defineProperty(globalThis, "__ballroom__", {
    value: api, writable: false, enumerable: false, configurable: false,
  });
})
