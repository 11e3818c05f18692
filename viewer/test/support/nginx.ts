/**
 * A real nginx (Debian's `nginx-light`, `$NGINX` or /usr/sbin/nginx) in front of the test
 * server, with the seed tutorial's location block verbatim: the `/broadcast` prefix is
 * forwarded whole (`proxy_pass` without a URI part). Started on a free loopback port with a
 * configuration written to a temporary directory; `close()` stops it.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TUTORIAL_BLOCK = `location /broadcast {
    proxy_pass http://127.0.0.1:8080;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "Upgrade";
}`;

export interface Nginx {
  port: number;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function startNginx(upstreamPort: number, block = TUTORIAL_BLOCK): Promise<Nginx> {
  const binary = process.env.NGINX ?? "/usr/sbin/nginx";
  if (!existsSync(binary)) {
    throw new Error(`${binary} not found: install Debian's nginx-light (apt-get install nginx-light; scripts/test.sh does it as root) or set NGINX`);
  }
  const dir = mkdtempSync(join(tmpdir(), "ballroom-viewer-nginx-"));
  const port = await freePort();
  const location = block.replace("http://127.0.0.1:8080", `http://127.0.0.1:${upstreamPort}`);
  const temp = ["body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t === "body" ? "client_body" : t}_temp_path ${dir}/${t};`).join("\n");
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 1024; }\n` +
      `http {\naccess_log off;\n${temp}\nserver {\nlisten 127.0.0.1:${port};\n${location}\n}\n}\n`,
  );
  const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log"), "-g", "daemon off; master_process off;"], {
    stdio: "ignore",
  });
  let exited = false;
  child.once("exit", () => (exited = true));
  const deadline = Date.now() + 5000;
  while (!(await answers(port))) {
    if (exited || Date.now() > deadline) {
      const log = existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : "";
      child.kill();
      throw new Error(`nginx did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 20)); // nginx has no readiness signal to await
  }
  return {
    port,
    close: async () => {
      if (!exited) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill();
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
