/**
 * A browser convenience: drive a client from `requestAnimationFrame`. Not needed where
 * the host has its own frame loop (Decentraland's `engine.addSystem`).
 */
import type { BallroomClient } from "./client.js";

interface Frames {
  requestAnimationFrame(cb: (ms: number) => void): number;
  cancelAnimationFrame(id: number): void;
}

/**
 * Call `client.update(dt)` and then `render(client)` every animation frame; returns a
 * function that stops the loop.
 */
export function animate(client: BallroomClient, render: (client: BallroomClient, dt: number) => void): () => void {
  const g = globalThis as unknown as Partial<Frames>;
  if (typeof g.requestAnimationFrame !== "function" || typeof g.cancelAnimationFrame !== "function") {
    throw new Error("animate() needs requestAnimationFrame; call client.update(dt) from your own loop");
  }
  const raf = g.requestAnimationFrame.bind(globalThis);
  const caf = g.cancelAnimationFrame.bind(globalThis);
  let last: number | null = null;
  let id = 0;
  const frame = (ms: number): void => {
    const dt = last === null ? 0 : Math.min(0.25, (ms - last) / 1000);
    last = ms;
    client.update(dt);
    render(client, dt);
    id = raf(frame);
  };
  id = raf(frame);
  return () => caf(id);
}
