// The load shape of ballroom-load's physics clients (src/bin/ballroom-load/physics.rs):
// which ball a client stands by, where it stands, and how it kicks.
import { readFileSync } from "node:fs";

/** The scene's balls, as ballroom-load reads them from the welcome's scene. */
export function readHomes(sceneFile) {
  return JSON.parse(readFileSync(sceneFile, "utf8")).balls.map((b) => ({
    id: b.id, position: b.position, radius: b.radius ?? 1,
    // Impulse (N·s) per metre the ball should slide: mass × linear damping.
    perMetre: Math.max(0.1, (b.mass ?? 5) * (b.linear_damping ?? 0.4)),
  }));
}

const r3 = (x) => Number(x.toFixed(3));

// Stand 0.5 m from ball `h` (now at `at`) along z, on the spawn side if it has wandered.
export function poseMessage(h, at, nth) {
  const towardsSpawn = h.position[2] - at[2];
  const side = Math.abs(towardsSpawn) > 2 ? Math.sign(towardsSpawn) : nth % 2 === 0 ? 1 : -1;
  return { position: [r3(at[0]), r3(Math.max(0, at[1] - h.radius)), r3(at[2] + side * (h.radius + 0.5))] };
}

// ballroom-load's kick: aim at a random point within 1 m of `home`, sized to get there; the
// rest of the magnitude straight up.
export function kickMessage(h, home, at, seq, [min, max], random) {
  const magnitude = min + (max - min) * random();
  const r = Math.sqrt(random()), ang = random() * 2 * Math.PI;
  const dx = home[0] + r * Math.cos(ang) - at[0], dz = home[2] + r * Math.sin(ang) - at[2];
  const distance = Math.max(1e-6, Math.hypot(dx, dz));
  const horizontal = Math.min(h.perMetre * distance, magnitude);
  const up = Math.sqrt(Math.max(0, magnitude * magnitude - horizontal * horizontal));
  return { ball: h.id, impulse: [r3((horizontal * dx) / distance), r3(up), r3((horizontal * dz) / distance)], seq };
}
