// Builds the viewer into dist/ (committed; the server embeds it): index.html, viewer.css
// and viewer.js, one minified bundle of src/main.ts with three.js and ballroom-client.
// The output must depend on the sources alone (esbuild's version is pinned exactly), so
// CI can rebuild it and fail on any difference.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(here, "src/main.ts")],
  outfile: join(dist, "viewer.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
});
copyFileSync(join(here, "index.html"), join(dist, "index.html"));
copyFileSync(join(here, "src/viewer.css"), join(dist, "viewer.css"));
for (const f of ["index.html", "viewer.css", "viewer.js"]) {
  console.log(`dist/${f}: ${statSync(join(dist, f)).size} bytes`);
}
