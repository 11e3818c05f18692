// Print the scene a running ballroom server simulates, as its `welcome` message carries it
// (the scene file with every default filled in), so that the Colyseus room runs on the
// same numbers:   node export-scene.mjs 127.0.0.1:8080 [SCENE] > scene.json
import WebSocket from "ws";

const [addr = "127.0.0.1:8080", scene = "kickballs"] = process.argv.slice(2);
const ws = new WebSocket(`ws://${addr}/scene-export?scene=${encodeURIComponent(scene)}`);
const fail = (why) => { console.error(`export-scene: ${why}`); process.exit(1); };
const timer = setTimeout(() => fail(`no welcome from ${addr} within 5 s`), 5000);
ws.on("error", (e) => fail(e.message));
ws.on("message", (data, binary) => {
  if (binary) return;
  const m = JSON.parse(data.toString());
  if (m.type === "error") fail(`${m.code}: ${m.message}`);
  if (m.type !== "welcome") return;
  clearTimeout(timer);
  process.stdout.write(JSON.stringify(m.scene, null, 2) + "\n");
  ws.close();
});
