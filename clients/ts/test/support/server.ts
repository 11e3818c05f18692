/**
 * Runs the real ballroom binary on 127.0.0.1:0 and learns its port from its log line
 * `listening addr=127.0.0.1:PORT`. The binary: $BALLROOM_BIN, else
 * $CARGO_TARGET_DIR/debug/ballroom, else ../../target/debug/ballroom from clients/ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_DIR = fileURLToPath(new URL("../..", import.meta.url));

export function serverBinary(): string {
  const candidates = [
    process.env.BALLROOM_BIN,
    process.env.CARGO_TARGET_DIR ? resolve(PACKAGE_DIR, process.env.CARGO_TARGET_DIR, "debug/ballroom") : undefined,
    resolve(PACKAGE_DIR, "../../target/debug/ballroom"),
  ].filter((x): x is string => x !== undefined && x !== "");
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(`no ballroom binary at ${candidates.join(" or ")}: run \`cargo build --bin ballroom\` or set BALLROOM_BIN`);
  }
  return found;
}

export interface RunningServer {
  port: number;
  /** `ws://127.0.0.1:PORT/room`. */
  url(room: string): string;
  stop(): Promise<void>;
}

export async function startServer(args: string[] = []): Promise<RunningServer> {
  const child: ChildProcess = spawn(serverBinary(), ["--addr", "127.0.0.1:0", ...args], {
    env: { ...process.env, RUST_LOG: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`ballroom did not report its port in 10 s:\n${log}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const m = /listening addr=127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`ballroom exited (${code}) before listening:\n${log}`));
    });
  });
  return {
    port,
    url: (room) => `ws://127.0.0.1:${port}${room.startsWith("/") ? room : `/${room}`}`,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(kill);
          done();
        });
        child.kill("SIGTERM");
      }),
  };
}
