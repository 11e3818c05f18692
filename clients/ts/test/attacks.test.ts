/**
 * Issue 27, finding 2, against the real server: a plain client floods a room with junk
 * binary frames and a replayed keyframe three times a second; the binary client gets each
 * as a `relay` event (the bytes as sent), never as a snapshot, keeps its connection and
 * its baseline, and its snapshot rate.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import type { BallroomClient } from "../src/client.js";
import { freshRoom, makeClient } from "./support/clients.js";
import { runFor, runFrames } from "./support/frames.js";
import { type RunningServer, startServer } from "./support/server.js";

let server: RunningServer;
const open: BallroomClient[] = [];
const sockets: WebSocket[] = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of open) c.close();
  for (const s of sockets) s.close();
  await server.stop();
});

function socket(url: string, protocols?: string[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(url, protocols);
    sockets.push(s);
    s.once("open", () => resolve(s));
    s.once("error", reject);
  });
}

/** The first binary frame a fresh `ballroom.v2` connection gets: a keyframe. */
async function recordKeyframe(url: string): Promise<Uint8Array> {
  const s = await socket(url, ["ballroom.v2"]);
  const frame = await new Promise<Uint8Array>((resolve) => {
    s.on("message", (data, isBinary) => {
      if (isBinary) resolve(new Uint8Array(data as Buffer));
    });
  });
  s.close();
  return frame;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

test("junk and replayed keyframes from a plain client cost a binary client nothing", async () => {
  const url = server.url(freshRoom("attack"));
  const keyframe = await recordKeyframe(`${url}?scene=kickballs`);
  const sent: Uint8Array[] = [
    Uint8Array.from([0x11, 0x05, 0x01, 0xff, 0x00]), // a delta against a baseline nobody has
    Uint8Array.from([0x13, 0x80]),
    Uint8Array.from([0x11, 0x7f, 0x3c, 0x00]),
    keyframe,
  ];
  const c = makeClient({ url, scene: "kickballs", encoding: "binary" });
  open.push(c);
  let disconnects = 0;
  let snapshots = 0;
  const relayed: Uint8Array[] = [];
  c.on("disconnected", () => disconnects++);
  c.on("snapshot", () => snapshots++);
  c.on("relay", (r) => {
    if (typeof r !== "string") relayed.push(r);
  });
  c.connect();
  await runFrames([c], () => c.state === "open" && c.balls().length > 0, 10, "welcome and a snapshot");
  const attacker = await socket(url);
  const snapshotsBefore = snapshots;
  let n = 0;
  const seconds = 12;
  const timer = setInterval(() => attacker.send(sent[n++ % sent.length]!), 333);
  try {
    await runFor([c], seconds);
  } finally {
    clearInterval(timer);
  }
  await runFor([c], 0.5);
  const stats = c.stats as typeof c.stats & { badFrames?: number };
  const arrived = relayed.filter((r) => sent.some((s) => same(r, s))).length;
  console.log(
    `frames sent: ${n}; relay events with the bytes sent: ${arrived}; disconnects: ${disconnects}; ` +
      `reconnects: ${c.stats.reconnects}; badFrames: ${stats.badFrames}; snapshots during the attack: ${snapshots - snapshotsBefore}`,
  );
  assert.equal(disconnects, 0);
  assert.equal(c.stats.reconnects, 0);
  assert.equal(c.state, "open");
  assert.equal(arrived, n, "every frame sent arrives as a relay event, as sent");
  assert.equal(stats.badFrames, 0);
  // At rest: one snapshot a second at least.
  assert.ok(snapshots - snapshotsBefore >= seconds - 1, `${snapshots - snapshotsBefore} snapshots`);
});
