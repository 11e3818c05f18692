/**
 * `npm run jitter [-- --seconds 30 --physics ballistic,rapier --seed N --clock performance,date]`: the full jitter
 * harness against the real server, printing the figures the README quotes.
 */
import { formatReport, runJitterSession } from "../test/support/jitter.js";
import { startServer } from "../test/support/server.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seconds = Number(arg("seconds", "30"));
const engines = arg("physics", "ballistic,rapier").split(",") as ("ballistic" | "rapier")[];
const seed = Number(arg("seed", String(0x5eed)));
const clocks = arg("clock", "performance").split(",") as ("performance" | "date")[];

const server = await startServer();
try {
  for (const clock of clocks) {
    for (const physics of engines) {
      const report = await runJitterSession(server, { seconds, physics, seed, clock });
      console.log(formatReport(report));
    }
  }
} finally {
  await server.stop();
}
