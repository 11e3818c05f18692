/**
 * The Decentraland scene runtime's clock is `Date.now()`, whole milliseconds. The jitter
 * session (10 s, 30–90 ms each way) with the measured client on that clock meets the same
 * bounds as with `performance.now()` (`jitter.test.ts`), and its room-clock estimate stays
 * within 30 ms of a direct client's (measured: p99 6.7 ms; 12.8 ms with performance.now() in the same 30 s run).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { formatReport, runJitterSession } from "./support/jitter.js";
import { type RunningServer, startServer } from "./support/server.js";

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

test("10 s through 30-90 ms of jitter on the millisecond clock: the same bounds", async () => {
  const r = await runJitterSession(server, { seconds: 10, physics: "ballistic", clock: "date" });
  console.log(formatReport(r));
  assert.equal(r.clock, "date");
  assert.ok(r.kicks >= 9, `${r.kicks} kicks`);
  assert.ok(r.maxFrameCorrectionPredicted <= 0.05, `a predicted ball moved ${r.maxFrameCorrectionPredicted} m in one correction`);
  assert.equal(r.snaps, 0);
  assert.ok(r.interpolated.p99 <= 0.25, `interpolated p99 ${r.interpolated.p99} m`);
  assert.ok(r.interpolated.p50 <= 0.01, `interpolated p50 ${r.interpolated.p50} m`);
  assert.ok(r.clockErrorMs.p99 <= 30, `clock error p99 ${r.clockErrorMs.p99} ms`);
});
