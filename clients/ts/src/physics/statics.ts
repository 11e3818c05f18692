/**
 * The scene's static colliders as the ballistic model sees them: each answers the point
 * of its surface (or inside) closest to a ball's centre. Cuboids at any rotation (the
 * ground, walls, ceiling and goal frames), static balls and capsules; cylinders are left
 * out (they show up as corrections), and so are sensors (they collide with nothing).
 */
import { add, dot, length, rotate, scale, sub, unrotate, v3 } from "../math.js";
import type { SceneStatic } from "../protocol/messages.js";
import type { Quat, Vec3 } from "../types.js";

export interface StaticCollider {
  /** The collider's point closest to `p` (`p` itself when `p` is inside). */
  closest(p: Vec3): Vec3;
  friction: number;
  restitution: number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);

/** The colliders of the scene's solid statics that the model knows. */
export function staticColliders(statics: readonly SceneStatic[]): StaticCollider[] {
  const out: StaticCollider[] = [];
  for (const s of statics) {
    if (s.sensor) continue;
    const centre = v3(...s.position);
    const [x, y, z, w] = s.rotation;
    const q: Quat = { x, y, z, w };
    const material = { friction: s.friction, restitution: s.restitution };
    const shape = s.shape;
    switch (shape.type) {
      case "cuboid": {
        const [hx, hy, hz] = shape.half_extents;
        out.push({
          ...material,
          closest: (p) => {
            const l = unrotate(q, sub(p, centre));
            return add(centre, rotate(q, v3(clamp(l.x, -hx, hx), clamp(l.y, -hy, hy), clamp(l.z, -hz, hz))));
          },
        });
        break;
      }
      case "ball": {
        const r = shape.radius;
        out.push({
          ...material,
          closest: (p) => {
            const d = sub(p, centre);
            const n = length(d);
            return n <= r ? p : add(centre, scale(d, r / n));
          },
        });
        break;
      }
      case "capsule": {
        const { half_height: h, radius: r } = shape;
        const axis = rotate(q, v3(0, 1, 0));
        out.push({
          ...material,
          closest: (p) => {
            const onAxis = add(centre, scale(axis, clamp(dot(sub(p, centre), axis), -h, h)));
            const d = sub(p, onAxis);
            const n = length(d);
            return n <= r ? p : add(onAxis, scale(d, r / n));
          },
        });
        break;
      }
      case "cylinder":
        break;
    }
  }
  return out;
}
