/**
 * The viewer's pure parts, in Node: URLs relative to the page (so a proxy's path prefix is
 * kept), reading the server's real /metrics, the kick and reach rules mirrored from the
 * server, and the built files referring to nothing absolute.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { type RunningServer, startServer } from "../../clients/ts/test/support/server.js";
import type { Scene } from "../../clients/ts/src/protocol/messages.js";
import { between, parseMetrics, scrape } from "../src/metrics.js";
import { kickImpulse, reachShortfall } from "../src/play.js";
import { pageMount, pageRoute, roomPageHref, roomSocketUrl } from "../src/urls.js";
import { ProtocolClient } from "./support/protocol.js";

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

test("room WebSocket URLs keep the page's path prefix and encode the name", () => {
  assert.equal(roomSocketUrl("/lobby", "http://127.0.0.1:8080/"), "ws://127.0.0.1:8080/lobby");
  assert.equal(roomSocketUrl("/lobby", "http://127.0.0.1:8080/?room=%2Flobby"), "ws://127.0.0.1:8080/lobby");
  assert.equal(roomSocketUrl("/broadcast/realm", "https://example.com/ballroom/?room=x"), "wss://example.com/ballroom/broadcast/realm");
  // Characters that would end the path, start a query or a fragment, or escape the prefix.
  assert.equal(roomSocketUrl("/a b?c#d%e", "https://h/p/"), "wss://h/p/a%20b%3Fc%23d%25e");
  assert.equal(roomSocketUrl("//evil.example/x", "https://h/p/"), "wss://h/p//evil.example/x");
  assert.equal(roomSocketUrl("/<img src=x>", "http://h/"), "ws://h/%3Cimg%20src%3Dx%3E");
  assert.equal(roomSocketUrl("/", "http://h/p/"), "ws://h/p/");
});

test("behind a proxy that forwards its prefix whole, room sockets start at the server's root", () => {
  // The tutorial's nginx: `location /broadcast { proxy_pass http://127.0.0.1:8080; }`; the server saw /broadcast/.
  const page = "https://example.com/broadcast/?room=%2Fbroadcast%2Fr1";
  assert.equal(roomSocketUrl("/broadcast/r1", page, "/broadcast/"), "wss://example.com/broadcast/r1");
  // A proxy that adds a prefix of its own in front of a forwarded one.
  assert.equal(roomSocketUrl("/broadcast/r1", "https://h/x/broadcast/", "/broadcast/"), "wss://h/x/broadcast/r1");
  // A mount that does not line up with the page: the page's directory, as before.
  assert.equal(roomSocketUrl("/lobby", "https://h/p/", "/q/"), "wss://h/p/lobby");
  const doc = (content: string | null) => ({
    querySelector: (_: string) => (content === null ? null : { getAttribute: (_n: string) => content }),
  });
  assert.equal(pageMount(doc("/broadcast/")), "/broadcast/");
  assert.equal(pageMount(doc(null)), "/");
  assert.equal(pageMount(doc("javascript:x")), "/");
});

test("page routes: ?room= and ?scene=, links relative to the page", () => {
  assert.deepEqual(pageRoute(""), { room: null, scene: null });
  assert.deepEqual(pageRoute("?room=%2Flobby"), { room: "/lobby", scene: null });
  assert.deepEqual(pageRoute("?room=lobby&scene=football"), { room: "/lobby", scene: "football" });
  const href = roomPageHref("/a&b=c");
  assert.ok(href.startsWith("?"), href);
  assert.deepEqual(pageRoute(href), { room: "/a&b=c", scene: null });
});

test("the operator figures come out of the server's real /metrics", async () => {
  const c = await ProtocolClient.connect(server.port, "/units-metrics", { scene: "kickballs" });
  try {
    c.send({ type: "kick", ball: 1, impulse: [0, 40, 60] });
    const read = async (): Promise<string> => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const t0 = performance.now() / 1000;
    const first = scrape(await read(), t0);
    await new Promise((r) => setTimeout(r, 1000));
    const second = scrape(await read(), performance.now() / 1000);
    assert.ok(second.connections >= 1, `connections ${second.connections}`);
    assert.ok(second.rooms >= 1, `rooms ${second.rooms}`);
    assert.ok(second.lateness.buckets.length > 5, "tick lateness histogram buckets");
    assert.equal(second.lateness.buckets.at(-1)![0], Infinity);
    const w = between(first, second);
    // This server's one room ticks at 60 Hz (every scrape folds the histogram first).
    assert.ok(w.ticksPerSecond > 30 && w.ticksPerSecond < 120, `ticks/s ${w.ticksPerSecond}`);
    assert.ok(w.latenessMeanMs !== null && w.latenessMeanMs >= 0 && w.latenessMeanMs < 250, `mean ${w.latenessMeanMs}`);
    assert.ok(w.latenessP99Ms !== null && w.latenessP99Ms > 0, `p99 ${w.latenessP99Ms}`);
  } finally {
    c.close();
  }
});

test("histogram windows: mean and p99 bucket from cumulative counts", () => {
  const text = (count: number, sum: number, b: number[]): string =>
    [
      "# TYPE ballroom_tick_lateness_seconds histogram",
      `ballroom_tick_lateness_seconds_bucket{le="0.001"} ${b[0]}`,
      `ballroom_tick_lateness_seconds_bucket{le="0.005"} ${b[1]}`,
      `ballroom_tick_lateness_seconds_bucket{le="+Inf"} ${b[2]}`,
      `ballroom_tick_lateness_seconds_sum ${sum}`,
      `ballroom_tick_lateness_seconds_count ${count}`,
      'ballroom_disconnects_total{reason="a \\"quoted\\" one"} 3',
      "ballroom_connections 4",
    ].join("\n");
  const a = scrape(text(100, 0.1, [100, 100, 100]), 10);
  const b = scrape(text(300, 0.5, [200, 298, 300]), 12);
  const w = between(a, b);
  assert.equal(w.ticksPerSecond, 100);
  assert.ok(Math.abs(w.latenessMeanMs! - 2) < 1e-9);
  assert.equal(w.latenessP99Ms, 5);
  assert.equal(parseMetrics(text(1, 1, [1, 1, 1])).get("ballroom_disconnects_total")![0]!.labels.reason, 'a "quoted" one');
  assert.equal(b.connections, 4);
  assert.equal(b.ticksDropped, 0);
});

test("reach and kick impulse mirror the server's rules", () => {
  const scene = {
    max_impulse: 40,
    player: { radius: 0.35, height: 1.8 },
    kick_rules: { reach: 2.5, require_position: true, rate: 5, burst: 3, max_player_speed: 20 },
  } as Scene;
  // Ball of radius 0.5 at (3, 0.5, 0); feet at the origin: 3 − 0.5 − 2.5 = 0.
  assert.ok(Math.abs(reachShortfall({ x: 0, y: 0, z: 0 }, { x: 3, y: 0.5, z: 0 }, 0.5, scene)) < 1e-9);
  // Above the head: measured from the top of the axis.
  assert.ok(Math.abs(reachShortfall({ x: 0, y: 0, z: 0 }, { x: 0, y: 4.8, z: 0 }, 0.5, scene) - 0) < 1e-9);
  const i = kickImpulse({ x: 0, y: 0, z: 0 }, { x: 0, y: 0.5, z: 2 }, 1, scene);
  assert.ok(Math.abs(Math.hypot(i.x, i.y, i.z) - 10) < 1e-9, "10 m/s on a 1 kg ball");
  assert.ok(i.z > 0 && i.y > 0 && Math.abs(i.x) < 1e-9);
  const heavy = kickImpulse({ x: 0, y: 0, z: 0 }, { x: 1, y: 1, z: 0 }, 50, scene);
  assert.ok(Math.abs(Math.hypot(heavy.x, heavy.y, heavy.z) - 36) < 1e-9, "held under max_impulse");
});

test("the built page and bundle refer only to relative URLs", () => {
  const html = readFileSync(new URL("../dist/index.html", import.meta.url), "utf8");
  const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  assert.ok(refs.includes("viewer.js") && refs.includes("viewer.css"), refs.join(" "));
  for (const r of refs) assert.ok(!/^(\/|[a-z]+:\/\/)/i.test(r), `absolute reference ${r}`);
  const js = readFileSync(new URL("../dist/viewer.js", import.meta.url), "utf8");
  const fetched = [...js.matchAll(/fetch\(\s*"([^"]*)"/g)].map((m) => m[1]!);
  assert.deepEqual(fetched.sort(), ["metrics", "rooms"]);
  assert.ok(!/new WebSocket\(\s*"/.test(js), "no WebSocket to a fixed URL");
  // No markup from strings anywhere in the bundle (three.js included): text goes in as text.
  for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]) {
    assert.ok(!js.includes(sink), `the bundle uses ${sink}`);
  }
});
