/**
 * A room's rules through the client, against the real server binary: `send` reaches the
 * rules' `onMessage`, their `message`s arrive as `message` events, their state as
 * `rulesState` (and in the welcome, for a late joiner); in a room without rules a frame of
 * type `message` is another client's, handed to `relay` listeners.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { BallroomClient } from "../src/client.js";
import { freshRoom, makeClient } from "./support/clients.js";
import { runFrames } from "./support/frames.js";
import { type RunningServer, startServer } from "./support/server.js";

let server: RunningServer;
const open: BallroomClient[] = [];

/** An `--assets` directory with scene `echo`: kickballs with rules that answer messages. */
function assets(): string {
  const dir = mkdtempSync(join(tmpdir(), "ballroom-ts-rules-"));
  const kickballs = JSON.parse(readFileSync(fileURLToPath(new URL("../../../assets/scenes/kickballs.json", import.meta.url)), "utf8"));
  mkdirSync(join(dir, "scenes"));
  mkdirSync(join(dir, "rules"));
  writeFileSync(join(dir, "scenes/echo.json"), JSON.stringify({ ...kickballs, name: "echo", rules: "rules/echo.js" }));
  writeFileSync(
    join(dir, "rules/echo.js"),
    `export default {
       onStart(room) { room.setState({ said: 0 }); },
       onMessage(room, client, name, data) {
         room.setState({ said: room.state.said + 1 });
         room.send(client.id, "echo", { name, data });
         room.broadcast("heard", { from: client.id });
       },
     };`,
  );
  return dir;
}

before(async () => {
  server = await startServer(["--assets", assets()]);
});

after(async () => {
  for (const c of open) c.close();
  await server.stop();
});

function client(path: string, scene?: string): BallroomClient {
  const c = makeClient({ url: server.url(path), scene, encoding: "binary" });
  open.push(c);
  c.connect();
  return c;
}

test("send reaches the rules; their messages and state come back as events", async () => {
  const room = freshRoom("rules");
  const a = client(room, "echo");
  await runFrames([a], () => a.state === "open", 10, "welcome");
  assert.equal(a.scene?.rules, "rules/echo.js");
  assert.deepEqual(a.rulesState, { said: 0 });
  const messages: { name: string; data: unknown }[] = [];
  const states: unknown[] = [];
  a.on("message", (m) => messages.push(m));
  a.on("rulesState", (s) => states.push(s));
  a.send("hello", { x: [1, 2] });
  await runFrames([a], () => messages.length >= 2, 10, "the rules' answer");
  assert.deepEqual(messages, [
    { name: "echo", data: { data: { x: [1, 2] }, name: "hello" } },
    { name: "heard", data: { from: a.id } },
  ]);
  // (The state the rules set at the join goes out with the tick after it, so it may come
  // after the welcome that already carried it.)
  assert.deepEqual(states.at(-1), { said: 1 });
  assert.ok(states.every((x) => JSON.stringify(x) === '{"said":0}' || JSON.stringify(x) === '{"said":1}'), JSON.stringify(states));
  assert.deepEqual(a.rulesState, { said: 1 });
  assert.throws(() => a.send("not a name"), RangeError);

  // A late joiner has the state in its welcome.
  const b = client(room);
  await runFrames([b], () => b.state === "open", 10, "the late joiner's welcome");
  assert.deepEqual(b.rulesState, { said: 1 });
});

test("in a room without rules a `message` frame is another client's, relayed", async () => {
  const room = freshRoom("norules");
  const a = client(room, "kickballs");
  const b = client(room, "kickballs");
  await runFrames([a, b], () => a.state === "open" && b.state === "open", 10, "both welcomed");
  const relayed: unknown[] = [];
  const messages: unknown[] = [];
  b.on("relay", (r) => relayed.push(r));
  b.on("message", (m) => messages.push(m));
  const frame = JSON.stringify({ type: "message", name: "chat", data: "hi" });
  a.relay(frame);
  await runFrames([a, b], () => relayed.length > 0, 10, "the relayed frame");
  assert.deepEqual(relayed, [frame]);
  assert.deepEqual(messages, []);
});
