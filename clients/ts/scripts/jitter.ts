/**
 * `npm run jitter [-- --seconds 30 --physics ballistic,rapier --seed N --clock performance,date --runs jitter,reach --reach-seconds 60]`:
 * the full jitter harness against the real server, then the reach harness at 150 ms of
 * round trip (honest kicks refused `too_far`, without and with `seen_at`), printing the
 * figures the README quotes.
 */
import { formatReport, runJitterSession } from "../test/support/jitter.js";
import { formatReach, runReachSession } from "../test/support/reach.js";
import { startServer } from "../test/support/server.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seconds = Number(arg("seconds", "30"));
const engines = arg("physics", "ballistic,rapier").split(",") as ("ballistic" | "rapier")[];
const seed = Number(arg("seed", String(0x5eed)));
const clocks = arg("clock", "performance").split(",") as ("performance" | "date")[];
const runs = arg("runs", "jitter,reach").split(",");
const reachSeconds = Number(arg("reach-seconds", "60"));

const server = await startServer();
try {
  if (runs.includes("jitter")) {
    for (const clock of clocks) {
      for (const physics of engines) {
        const report = await runJitterSession(server, { seconds, physics, seed, clock });
        console.log(formatReport(report));
      }
    }
  }
  if (runs.includes("reach")) {
    for (const compensated of [false, true]) {
      console.log(formatReach(await runReachSession(server, { seconds: reachSeconds, compensated, seed })));
    }
  }
} finally {
  await server.stop();
}
