/**
 * The jitter harness, short (10 s; `npm run jitter` runs the 30 s one): through a proxy
 * delaying each direction by 30–90 ms, no predicted ball is corrected by more than 5 cm
 * in one frame, nothing snaps, and interpolated balls stay close to the server's
 * trajectory (p99 bound below, defended in the README).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { formatReport, runJitterSession } from "./support/jitter.js";
import { type RunningServer, startServer } from "./support/server.js";

/** The p99 position error of interpolated moving balls this test accepts, metres. */
const P99_INTERPOLATED = 0.25;

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

test("10 s through 30-90 ms of jitter: smooth corrections, interpolation close to the server", async () => {
  const r = await runJitterSession(server, { seconds: 10, physics: "ballistic" });
  console.log(formatReport(r));
  assert.ok(r.kicks >= 9, `${r.kicks} kicks`);
  assert.ok(r.predicted.samples > 200, `${r.predicted.samples} predicted samples`);
  assert.ok(r.interpolated.samples > 100, `${r.interpolated.samples} interpolated samples`);
  assert.ok(r.maxFrameCorrectionPredicted <= 0.05, `a predicted ball moved ${r.maxFrameCorrectionPredicted} m in one correction`);
  assert.equal(r.snaps, 0);
  assert.ok(r.interpolated.p99 <= P99_INTERPOLATED, `interpolated p99 ${r.interpolated.p99} m`);
  assert.ok(r.interpolated.p50 <= 0.01, `interpolated p50 ${r.interpolated.p50} m`);
});
