/**
 * `npm test`'s first step: the integration tests run the real ballroom binary. When none
 * is built, build it (`cargo build --bin ballroom` at the repository's root), or, without
 * cargo, say once what to run, instead of every test failing on its own.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

import { serverBinary } from "../test/support/server.js";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));

function found(): string | null {
  try {
    return serverBinary();
  } catch {
    return null;
  }
}

if (found() === null) {
  console.error("ensure-server: no ballroom binary yet; building it with `cargo build --bin ballroom`");
  const build = spawnSync("cargo", ["build", "--bin", "ballroom"], { cwd: REPO, stdio: "inherit" });
  if (build.error !== undefined || build.status !== 0 || found() === null) {
    console.error(
      "ensure-server: the tests need the ballroom server: run `cargo build --bin ballroom` at the repository's root (or set BALLROOM_BIN), then `npm test` again",
    );
    process.exit(1);
  }
}
