/**
 * The viewer in a real browser (Debian's Chromium, headless, WebGL on SwiftShader) against
 * the real server binary, with scripted protocol clients (raw WebSocket, JSON) as the
 * server's witnesses: the room list, a kicked ball drawn moving (pixels and state, against
 * the server's snapshots), playing (walk with the keyboard, click to kick, the kick seen by
 * another client), hostile room names, a proxy's path prefix (and nginx's `/broadcast` prefix,
 * forwarded whole, as the seed tutorial deploys it), a football match (score,
 * clock, phase, teams; its screenshot is the README's), and the stadium scene's glTF model
 * (fetched under a proxy's prefix; its screenshot is docs/viewer-stadium.png).
 *
 * Screenshots: target/viewer-screenshots/*.png from the repository root.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningServer, startServer } from "../../clients/ts/test/support/server.js";
import { type Browser, SCREENSHOTS, around, changedFraction, launch, screenshot, type Region } from "./support/browser.js";
import { type Message, ProtocolClient, roomPath } from "./support/protocol.js";
import { startNginx } from "./support/nginx.js";
import { startPrefixProxy } from "./support/proxy.js";

type V3 = { x: number; y: number; z: number };

let server: RunningServer;
let browser: Browser;
const clients: ProtocolClient[] = [];
const began = performance.now();

before(async () => {
  // The repository's assets/ adds the stadium scene, built from its model.
  server = await startServer(["--assets", join(dirname(fileURLToPath(import.meta.url)), "../../assets")]);
  browser = await launch();
});

after(async () => {
  for (const c of clients) c.close();
  await browser?.close();
  await server?.stop();
  console.log(`browser tests: ${((performance.now() - began) / 1000).toFixed(1)} s; screenshots in ${SCREENSHOTS}`);
});

const base = (): string => `http://127.0.0.1:${server.port}/`;
const roomHref = (room: string): string => `${base()}?room=${encodeURIComponent(room)}`;
const dist = (a: V3, b: V3): number => Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z);

async function scripted(room: string, query: Record<string, string>): Promise<ProtocolClient> {
  const c = await ProtocolClient.connect(server.port, room, query);
  clients.push(c);
  return c;
}

async function openPage(width = 960, height = 540): Promise<Page> {
  const page = await browser.newPage(width, height);
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  return page;
}

/** The room view is connected, has drawn the balls and synced its clock. */
async function roomReady(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const h = window.__ballroom;
      return h?.view === "room" && h.connection() === "open" && h.balls().length > 0 && (h.stats()?.rttMs ?? 0) > 0;
    },
    undefined,
    { timeout: 15_000 },
  );
}

async function roomsNow(): Promise<{ room: string; scene: string; clients: number }[]> {
  return (await (await fetch(`${base()}rooms`)).json()) as { room: string; scene: string; clients: number }[];
}

/** Ball `id` as the page drew it last, with its place on screen and its radius there. */
async function drawn(page: Page, id: number) {
  return page.evaluate((id) => {
    const h = window.__ballroom!;
    const b = h.balls().find((x) => x.id === id)!;
    const screen = h.project(b.position)!;
    const edge = h.project({ x: b.position.x + 1, y: b.position.y, z: b.position.z })!;
    return { ...b, screen, pxPerMetre: Math.hypot(edge.x - screen.x, edge.y - screen.y) };
  }, id);
}

function union(a: Region, b: Region): Region {
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

test("lists a room a scripted client made, opens it, and draws the kicked ball moving", async () => {
  const room = `/viewer-kick-${process.pid}`;
  const kicker = await scripted(room, { scene: "kickballs" });
  const page = await openPage();
  await page.goto(base());
  const link = page.locator("a.room-link").filter({ hasText: room });
  await link.waitFor({ timeout: 10_000 });
  const row = (await page.evaluate(() => window.__ballroom!.rooms())).find((r) => r.room === room);
  assert.deepEqual({ scene: row?.scene, clients: row?.clients }, { scene: "kickballs", clients: 1 });
  await screenshot(page, "rooms");

  await link.click();
  await page.waitForURL(/\?room=/);
  await roomReady(page);
  assert.equal(await page.evaluate(() => window.__ballroom!.webgl), true, "WebGL (SwiftShader) in headless Chromium");
  assert.equal((await roomsNow()).find((r) => r.room === room)?.clients, 2, "the viewer watches the same room");

  // Ball 1 from rest: 8 m/s along +z and 5 m/s up (40 and 25 N·s on 5 kg).
  const fromSnapshot = kicker.snapshots.length;
  kicker.send({ type: "kick", ball: 1, impulse: [0, 25, 40], seq: 1 });
  await kicker.waitFor((m) => m.type === "kick" && m.ball === 1, 5000, "the kick event");
  await page.waitForTimeout(250); // the page draws ~100 ms behind the server
  const framesAt = async (): Promise<[number, number]> => [performance.now(), (await page.evaluate(() => window.__ballroom!.stats()!.frames))];
  const f0 = await framesAt();
  const a = await drawn(page, 1);
  const shot1 = await screenshot(page, "kick-1");
  const a2 = await drawn(page, 1);
  await page.waitForTimeout(300);
  const b = await drawn(page, 1);
  const shot2 = await screenshot(page, "kick-2");
  const b2 = await drawn(page, 1);
  const f1 = await framesAt();
  const fps = ((f1[1] - f0[1]) * 1000) / (f1[0] - f0[0]);

  // State: the drawn ball moved, and is where the server's snapshots put it at the time it stands for.
  assert.ok(dist(a.position, b.position) > 1, `ball 1 moved ${dist(a.position, b.position).toFixed(2)} m between the shots`);
  await new Promise((r) => setTimeout(r, 200));
  for (const s of [a, a2, b, b2]) {
    const truth = kicker.ballAt(1, s.time);
    assert.ok(truth, `a server snapshot brackets room time ${s.time} (${kicker.snapshots.length - fromSnapshot} since the kick)`);
    const err = dist(s.position, { x: truth[0], y: truth[1], z: truth[2] });
    assert.ok(err < 0.25, `drawn ball 1 is ${err.toFixed(3)} m from the server's trajectory at t=${s.time.toFixed(3)}`);
  }

  // Pixels: where the ball was and went changed; a patch of floor where nothing moves did not.
  const half = Math.max(10, 1.2 * Math.max(a.pxPerMetre, b.pxPerMetre));
  const moving = union(union(around(a.screen, half, shot1), around(a2.screen, half, shot1)), union(around(b.screen, half, shot1), around(b2.screen, half, shot1)));
  const changed = changedFraction(shot1, shot2, moving);
  const floor = await page.evaluate(() => window.__ballroom!.project({ x: 13, y: 0, z: 4 })!);
  const still = changedFraction(shot1, shot2, around(floor, 20, shot1));
  console.log(
    `kick: ball 1 moved ${dist(a.position, b.position).toFixed(2)} m; pixels changed around it ${(changed * 100).toFixed(1)} %, on still floor ${(still * 100).toFixed(1)} %; ${fps.toFixed(1)} frames/s while screenshotting`,
  );
  // The region is the union of four squares (the ball as drawn just before and just after
  // each screenshot), and the ball fills about half of one square (radius 1 m in a square of
  // 2.4 m): when screenshots are slow, the four squares spread apart and the changed share
  // falls towards an eighth. So: clearly changed, and far more than the still floor.
  assert.ok(changed > 0.05, `pixels around the moving ball changed: ${(changed * 100).toFixed(1)} %`);
  assert.ok(still < 0.02, `still floor unchanged: ${(still * 100).toFixed(1)} %`);
  assert.ok(changed > 5 * still, `the moving ball changed far more pixels than the still floor`);

  // The stats overlay shows the client's figures.
  const stats = await page.locator("#stats").textContent();
  assert.match(stats ?? "", /RTT \d+\.\d ms/);
  assert.match(stats ?? "", /snapshots\/s \d+/);
  assert.match(stats ?? "", /interpolation delay \d+ ms/);
  // And the operator panel the server's, from /metrics.
  await page.waitForFunction(() => window.__ballroom!.operator().window !== null, undefined, { timeout: 10_000 });
  const op = await page.evaluate(() => window.__ballroom!.operator());
  assert.ok(op.scrape!.connections >= 2 && op.scrape!.rooms >= 1, JSON.stringify(op.scrape));
  assert.ok(op.window!.ticksPerSecond > 0, `ticks/s ${op.window!.ticksPerSecond}`);
  assert.match((await page.locator("#operator summary").textContent()) ?? "", /^Server: \d+ connections? · \d+ rooms? · tick p99 ≤ /);
  await page.close();
});

test("plays: walks to a ball with the keyboard, clicks it, and a scripted client sees the kick", async () => {
  const room = `/viewer-play-${process.pid}`;
  const witness = await scripted(room, { scene: "kickballs" });
  const page = await openPage();
  await page.goto(roomHref(room));
  await roomReady(page);
  await page.click("#play");
  await page.waitForFunction(
    () => {
      const h = window.__ballroom!;
      return h.mode() === "play" && h.connection() === "open" && h.player() !== null && h.balls().length === 3;
    },
    undefined,
    { timeout: 15_000 },
  );
  const id = (await page.evaluate(() => window.__ballroom!.clientId()))!;
  await witness.waitFor((m) => m.type === "joined" && m.client === id, 5000, "the player joining");
  const start = (await page.evaluate(() => window.__ballroom!.player()))!;

  // Out of reach: the page says so and sends nothing.
  assert.ok((await page.evaluate(() => window.__ballroom!.reachShortfall(1)))! > 0, "ball 1 starts out of reach");
  const far = (await page.evaluate(() => window.__ballroom!.screenPositionOfBall(1)))!;
  await page.mouse.click(far.x, far.y);
  await page.waitForFunction(() => /out of reach/.test(document.getElementById("message")?.textContent ?? ""), undefined, { timeout: 5000 });
  assert.equal(await page.evaluate(() => window.__ballroom!.lastKick()), null);

  // Walk forward (away from the camera: +z) until ball 1 is well within reach.
  await page.keyboard.down("KeyW");
  await page.waitForFunction(() => (window.__ballroom!.reachShortfall(1) ?? 1) < -0.8, undefined, { timeout: 10_000 });
  await page.keyboard.up("KeyW");
  await page.waitForTimeout(300);
  const end = (await page.evaluate(() => window.__ballroom!.player()))!;
  assert.ok(end.z - start.z > 1 && Math.abs(end.x - start.x) < 0.01, `walked from ${JSON.stringify(start)} to ${JSON.stringify(end)}`);
  // The server accepted the poses and passed them on.
  const pose = await witness.waitFor(
    (m) => m.type === "player" && m.client === id && Math.hypot((m.position as number[])[0]! - end.x, (m.position as number[])[2]! - end.z) < 0.05,
    3000,
    "the final pose",
  );
  assert.ok(pose);

  const before = witness.messages.length;
  const target = (await page.evaluate(() => window.__ballroom!.screenPositionOfBall(1)))!;
  await page.mouse.click(target.x, target.y);
  const kick = await witness.waitFor((m) => m.type === "kick" && m.client === id, 5000, "the viewer's kick", before);
  assert.equal(kick.ball, 1);
  const sent = (await page.evaluate(() => window.__ballroom!.lastKick()))!;
  assert.equal(kick.seq, sent.seq);
  const impulse = kick.impulse as number[];
  assert.ok(impulse[2]! > 0, `kicked away from the avatar: ${JSON.stringify(impulse)}`);
  const acked = await witness.waitFor(
    (m) => m.type === "snapshot" && (m.acks as Record<string, number>)[String(id)] === sent.seq,
    3000,
    "a snapshot acknowledging the kick",
    before,
  );
  const v = (acked.balls as { id: number; v: number[] }[]).find((b) => b.id === 1)!.v;
  assert.ok(Math.hypot(v[0]!, v[1]!, v[2]!) > 5, `ball 1 moving after the kick: ${JSON.stringify(v)}`);
  // The page predicted it (drawn from its own timeline until the server's word settles it).
  const predicted = await page.evaluate(() => window.__ballroom!.balls().find((b) => b.id === 1)!.predicted);
  assert.equal(predicted, true);
  await page.waitForTimeout(200);
  await screenshot(page, "play-kick");
  await page.close();
});

test("hostile room names are listed and shown as text, and open the right room", async () => {
  const names = [`/<img src=x onerror=window.__pwned=1>-${process.pid}`, `/odd name?x=1#y%z&<b>bold</b>-${process.pid}`];
  for (const n of names) await scripted(n, { scene: "kickballs" });
  const page = await openPage();
  await page.goto(base());
  await page.waitForFunction((names) => names.every((n) => window.__ballroom!.rooms().some((r) => r.room === n)), names, { timeout: 10_000 });
  const texts = await page.locator("a.room-link").allTextContents();
  for (const n of names) assert.ok(texts.includes(n), `listed as text: ${n} in ${JSON.stringify(texts)}`);
  assert.equal(await page.locator("#rooms img, #rooms b").count(), 0, "no markup from room names");
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await screenshot(page, "hostile-names");

  for (const n of names) {
    await page.locator("a.room-link").filter({ hasText: n }).click();
    await roomReady(page);
    assert.equal(await page.locator("#room-name").textContent(), n);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal((await roomsNow()).find((r) => r.room === n)?.clients, 2, `the viewer joined ${n} itself`);
    await page.goBack();
    await page.waitForFunction(() => window.__ballroom?.view === "rooms");
  }
  await page.close();
});

test("works under a proxy's path prefix (relative URLs only)", async () => {
  const proxy = await startPrefixProxy("/ballroom/", server.port);
  try {
    const room = `/viewer-prefix-${process.pid}`;
    await scripted(room, { scene: "kickballs" });
    const page = await openPage();
    await page.goto(`http://127.0.0.1:${proxy.port}/ballroom/`);
    const link = page.locator("a.room-link").filter({ hasText: room });
    await link.waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => window.__ballroom!.operator().window !== null, undefined, { timeout: 10_000 });
    assert.match((await page.locator("#operator").innerText()) ?? "", /connections \d+ · rooms \d+\s+ticks\/s \d+/);
    await link.click();
    await roomReady(page);
    assert.equal((await roomsNow()).find((r) => r.room === room)?.clients, 2, "the viewer joined through the proxy");
    const outside = proxy.seen.filter((p) => !p.startsWith("/ballroom/"));
    assert.deepEqual(outside, [], "every request stayed under the prefix");
    for (const want of ["/ballroom/viewer.js", "/ballroom/viewer.css", "/ballroom/rooms", "/ballroom/metrics"]) {
      assert.ok(proxy.seen.includes(want), `${want} in ${JSON.stringify(proxy.seen.slice(0, 12))}`);
    }
    assert.ok(proxy.seen.some((p) => p.startsWith(`/ballroom${roomPath(room)}?`)), "the room's WebSocket under the prefix");
    await page.close();
  } finally {
    await proxy.close();
  }
});

/** An HS256 token for `room` under `secret` (the server's `--auth-secret`), valid 10 min. */
function mintToken(secret: string, sub: string, room: string): string {
  const part = (v: object): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  const head = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, room, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}

test("with --auth-secret the page's ?token= opens the list, the figures and the room", async () => {
  const secret = "viewer-test-secret-value";
  const secured = await startServer(["--auth-secret", secret]);
  try {
    const room = `/viewer-auth-${process.pid}`;
    const witness = await ProtocolClient.connect(secured.port, room, { scene: "kickballs", token: mintToken(secret, "witness", room) });
    clients.push(witness);
    const page = await openPage();
    // No token: the operator endpoints say so on the page.
    await page.goto(`http://127.0.0.1:${secured.port}/`);
    await page.waitForFunction(() => document.body.textContent!.includes("cannot read rooms: HTTP 401"), undefined, { timeout: 10_000 });
    // An operator's token (room "*") in the page's URL: the list, the figures, the room.
    const token = mintToken(secret, "operator", "*");
    await page.goto(`http://127.0.0.1:${secured.port}/?token=${encodeURIComponent(token)}`);
    const link = page.locator("a.room-link").filter({ hasText: room });
    await link.waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => window.__ballroom!.operator().window !== null, undefined, { timeout: 10_000 });
    await link.click();
    await roomReady(page);
    assert.equal(new URL(page.url()).searchParams.get("token"), token, "the room's link carries the token on");
    await page.locator("a.back").click();
    await page.waitForFunction(() => window.__ballroom?.view === "rooms" && window.__ballroom.rooms().length > 0, undefined, { timeout: 10_000 });
    await page.close();
  } finally {
    await secured.stop();
  }
});

test("draws the stadium's model, fetched through a proxy's prefix by a relative URL", async () => {
  const proxy = await startPrefixProxy("/ballroom/", server.port);
  try {
    const room = `/stadium-${process.pid}`;
    await scripted(room, { scene: "stadium" });
    const page = await openPage(1280, 720);
    await page.goto(`http://127.0.0.1:${proxy.port}/ballroom/?room=${encodeURIComponent(room)}`);
    await roomReady(page);
    await page.waitForFunction(() => window.__ballroom!.models() !== null, undefined, { timeout: 15_000 });
    const models = await page.evaluate(() => window.__ballroom!.models());
    assert.deepEqual(models, { drawn: 1, failed: [] });
    assert.ok(proxy.seen.includes("/ballroom/assets/models/stadium.glb"), `model fetched under the prefix: ${JSON.stringify(proxy.seen)}`);
    // The pitch's centre and a point up a stand are on screen: the camera frames the model.
    const centre = await page.evaluate(() => window.__ballroom!.project({ x: 0, y: 0, z: 0 }));
    assert.ok(centre && centre.x > 0 && centre.x < 1280 && centre.y > 0 && centre.y < 720, JSON.stringify(centre));
    // Blue's goal (a sensor of the model, at x < 0) on the left, as the score reads.
    const [blue, red] = await page.evaluate(() => [-16, 16].map((x) => window.__ballroom!.project({ x, y: 1, z: 0 })));
    assert.ok(blue && red && blue.x < red.x, `blue's goal at ${JSON.stringify(blue)}, red's at ${JSON.stringify(red)}`);
    await screenshot(page, "stadium");
    await page.close();
  } finally {
    await proxy.close();
  }
});

test("the viewer works behind nginx's /broadcast prefix (the tutorial's block, forwarded whole)", async () => {
  const nginx = await startNginx(server.port);
  try {
    // The scenes' room: a scene connects to wss://HOST/broadcast/<realm>.
    const room = `/broadcast/viewer-${process.pid}`;
    await scripted(room, { scene: "kickballs" });
    const page = await openPage();
    const failed: string[] = [];
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`http://127.0.0.1:${nginx.port}/broadcast/`);
    const link = page.locator("a.room-link").filter({ hasText: room });
    await link.waitFor({ timeout: 10_000 });
    await link.click();
    await roomReady(page);
    assert.equal((await roomsNow()).find((r) => r.room === room)?.clients, 2, "the viewer joined the scenes' room itself");
    assert.deepEqual(failed, [], "every request through nginx answered");
    await page.close();
  } finally {
    await nginx.close();
  }
});

test("a football match: score, clock, phase and teams; playing picks a team", async () => {
  const room = `/viewer-match-${process.pid}`;
  const blue = await scripted(room, { scene: "football" });
  const red = await scripted(room, { scene: "football" });
  // Both next to the ball at the centre (reach 2.5 m), out of its way to blue's goal.
  blue.send({ type: "player", position: [-1.6, 0, 2] });
  red.send({ type: "player", position: [1.6, 0, -2] });
  blue.send({ type: "join_team", team: "blue" });
  red.send({ type: "join_team", team: "red" });
  const page = await openPage(800, 450);
  await page.goto(roomHref(room));
  await roomReady(page);
  await page.waitForFunction(() => window.__ballroom!.match()?.phase === "playing", undefined, { timeout: 10_000 });

  // Red scores into blue's goal (x < 0), then blue takes the kick-off.
  red.send({ type: "kick", ball: 0, impulse: [-25, 1, 0], seq: 1 });
  await red.waitFor((m) => m.type === "message" && m.name === "goal" && (m.data as { team: string }).team === "red", 5000, "red's goal");
  await page.waitForFunction(() => window.__ballroom!.match()?.score.red === 1, undefined, { timeout: 5000 });
  await blue.waitFor((m: Message) => m.type === "rules_state" && (m.state as { kickoff: unknown }).kickoff === "blue", 5000, "blue's kick-off");
  const kicks = blue.messages.length;
  blue.send({ type: "kick", ball: 0, impulse: [7, 1.5, -4], seq: 1 });
  await blue.waitFor((m) => m.type === "kick" && m.client === blue.id, 3000, "blue's kick-off kick", kicks);
  // The page draws a few hundred ms behind the server (more on a software renderer): let the ball get going.
  await page.waitForTimeout(1200);
  await screenshot(page, "match");

  assert.equal(await page.locator("#match .score.blue").textContent(), "0");
  assert.equal(await page.locator("#match .score.red").textContent(), "1");
  assert.match((await page.locator("#match .clock").textContent()) ?? "", /^4:5\d$/);
  assert.match((await page.locator("#match .phase").textContent()) ?? "", /^playing/);
  const players = await page.evaluate(() => window.__ballroom!.players());
  assert.deepEqual(
    players.map((p) => [p.client, p.team]).sort(),
    [
      [blue.id, "blue"],
      [red.id, "red"],
    ].sort(),
  );

  await page.click("#play");
  await page.waitForFunction(() => window.__ballroom!.mode() === "play" && window.__ballroom!.connection() === "open", undefined, { timeout: 15_000 });
  const id = (await page.evaluate(() => window.__ballroom!.clientId()))!;
  // The overlay follows on the next animation frame, which a software renderer may take a while to draw.
  await page.locator("#team-red").waitFor({ state: "visible", timeout: 5000 });
  assert.equal(await page.locator("#team-red").isVisible(), true, "team buttons in a match scene");
  const from = blue.messages.length;
  await page.click("#team-red");
  await blue.waitFor((m) => m.type === "rules_state" && (m.state as { teams: { red: number[] } }).teams.red.includes(id), 5000, "the viewer on red", from);
  await page.waitForFunction((id) => document.body.textContent!.includes(`playing as #${id}, team red`), id, { timeout: 5000 });
  await page.close();
});

test("without WebGL the page says so and still shows the room's figures", async () => {
  const room = `/viewer-nogl-${process.pid}`;
  const kicker = await scripted(room, { scene: "kickballs" });
  const plain = await launch(["--disable-webgl", "--disable-3d-apis"]);
  try {
    const page = await plain.newPage(800, 450);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(roomHref(room));
    await page.waitForFunction(() => window.__ballroom?.view === "room" && window.__ballroom.connection() === "open", undefined, { timeout: 15_000 });
    assert.equal(await page.evaluate(() => window.__ballroom!.webgl), false);
    assert.match((await page.locator("#message").textContent()) ?? "", /no WebGL/);
    // A moving ball: 20 snapshots a second (at rest there would be one).
    kicker.send({ type: "kick", ball: 0, impulse: [0, 30, 60] });
    await page.waitForFunction(() => (window.__ballroom!.stats()?.snapshotsPerSecond ?? 0) >= 10, undefined, { timeout: 10_000 });
    assert.match((await page.locator("#stats").textContent()) ?? "", /snapshots\/s ([5-9]|\d\d)/);
    assert.equal(await page.locator("canvas.view3d").count(), 0);
    assert.deepEqual(errors, []);
    await screenshot(page, "no-webgl");
  } finally {
    await plain.close();
  }
});
