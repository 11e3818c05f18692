/**
 * The scene's glTF models (`welcome.scene.models`), drawn: each fetched from the URL the
 * server names (made relative to the page, so it works under a proxy's prefix) with
 * three.js's GLTFLoader and placed as the scene says. The server's colliders come from the
 * same bytes, so what is drawn is what the balls hit. A model that fails to load is
 * reported and skipped; the rest of the view works without it.
 */
import { type Group, type Object3D, Box3, Mesh, MeshLambertMaterial, Vector3 } from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import type { SceneModel } from "../../clients/ts/src/protocol/messages.js";
import { modelHref } from "./urls.js";

/** What loading the models came to: how many drew, and each failure's reason. */
export interface ModelsLoaded {
  drawn: number;
  failed: string[];
}

/** The floor box the models make (x, z extents and the top of the lowest wide surface). */
export function modelsGround(models: readonly SceneModel[]): { minX: number; maxX: number; minZ: number; maxZ: number; y: number } | null {
  const boxes = models.map((m) => m.bounds).filter((b): b is NonNullable<SceneModel["bounds"]> => b !== undefined);
  if (boxes.length === 0) return null;
  return {
    minX: Math.min(...boxes.map((b) => b[0][0])),
    maxX: Math.max(...boxes.map((b) => b[1][0])),
    minZ: Math.min(...boxes.map((b) => b[0][2])),
    maxZ: Math.max(...boxes.map((b) => b[1][2])),
    // Models usually stand on y = 0 (the stadium's pitch); never below their lowest point.
    y: Math.max(0, Math.min(...boxes.map((b) => b[0][1]))),
  };
}

/**
 * Sensor nodes (`*_sensor`) are drawn faint, and tall thin pieces (walls: over 3 m high, under
 * 2 m thick) as glass, as the view draws a scene's tall statics: so that neither hides the
 * pitch from a camera outside the walls. Call with `root` placed.
 */
function soften(root: Object3D): void {
  const meshes: Mesh[] = [];
  root.traverse((o) => {
    if (o instanceof Mesh) meshes.push(o);
  });
  for (const o of meshes) {
    const colour = (o.material as MeshLambertMaterial).color?.getHex?.() ?? 0xffd43b;
    const size = new Box3().setFromObject(o).getSize(new Vector3());
    if (/_sensor$/.test(o.name)) {
      o.material = new MeshLambertMaterial({ color: colour, transparent: true, opacity: 0.3, depthWrite: false });
    } else if (size.y > 3 && Math.min(size.x, size.z) < 2) {
      o.material = new MeshLambertMaterial({ color: 0x9fb4c8, transparent: true, opacity: 0.08, depthWrite: false });
    }
  }
}

/** Fetch and add every model of `models` to `parent`; resolves once all have been tried. */
export async function addModels(parent: Group, models: readonly SceneModel[], pageHref: string): Promise<ModelsLoaded> {
  const loader = new GLTFLoader();
  const out: ModelsLoaded = { drawn: 0, failed: [] };
  await Promise.all(
    models.map(async (m) => {
      if (!m.url) {
        out.failed.push(`${m.file}: the server named no URL`);
        return;
      }
      try {
        const gltf = await loader.loadAsync(modelHref(m.url, pageHref));
        const root = gltf.scene;
        root.position.set(...m.position);
        root.quaternion.set(...m.rotation);
        root.scale.set(...m.scale);
        root.updateMatrixWorld(true);
        soften(root);
        if (new Box3().setFromObject(root).isEmpty()) throw new Error("nothing to draw");
        parent.add(root);
        out.drawn += 1;
      } catch (e) {
        out.failed.push(`${m.file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }),
  );
  return out;
}
