/** Driving clients from a test: a 60 Hz frame loop on real time, bounded in time. */
import { BallroomClient } from "../../src/client.js";

/** Seconds on the monotonic clock, the same one the clients use. */
export const now = (): number => performance.now() / 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Update `clients` every ~16.7 ms until `until()` is true (then resolve) or `timeout`
 * seconds pass (then reject with `what`). `onFrame` sees each frame after the updates.
 */
export async function runFrames(
  clients: BallroomClient[],
  until: () => boolean,
  timeout: number,
  what: string,
  onFrame?: (dt: number) => void,
): Promise<void> {
  const start = now();
  let last = start;
  let next = start;
  for (;;) {
    const t = now();
    const dt = t - last;
    last = t;
    for (const c of clients) c.update(dt);
    onFrame?.(dt);
    if (until()) return;
    if (t - start > timeout) throw new Error(`timed out after ${timeout} s waiting for ${what}`);
    next += 1 / 60;
    await sleep(Math.max(0, (next - now()) * 1000));
  }
}

/** Run frames for `seconds`. */
export async function runFor(clients: BallroomClient[], seconds: number, onFrame?: (dt: number) => void): Promise<void> {
  const end = now() + seconds;
  await runFrames(clients, () => now() >= end, seconds + 5, "the end of the run", onFrame);
}
