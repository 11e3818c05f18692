/**
 * A reverse proxy that serves the server under a path prefix and strips it, as the nginx
 * block of docs/deploy.md does (`location /ballroom/ { proxy_pass http://127.0.0.1:8080/; }`),
 * for plain requests and WebSocket upgrades alike. It records every path asked of it, so a
 * test can tell that the page never stepped outside the prefix.
 */
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface PrefixProxy {
  port: number;
  /** Every request path the proxy received, upgrades included, in order. */
  seen: string[];
  close(): Promise<void>;
}

export async function startPrefixProxy(prefix: string, targetPort: number): Promise<PrefixProxy> {
  if (!prefix.startsWith("/") || !prefix.endsWith("/")) throw new Error(`prefix must start and end with /: ${prefix}`);
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const strip = (url: string | undefined): string | null => (url?.startsWith(prefix) ? url.slice(prefix.length - 1) : null);

  const server = http.createServer((req, res) => {
    seen.push(req.url ?? "");
    const path = strip(req.url);
    if (path === null) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("outside the prefix\n");
      return;
    }
    const upstream = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on("error", (e) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`${e.message}\n`);
    });
    req.pipe(upstream);
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    seen.push(req.url ?? "");
    const path = strip(req.url);
    if (path === null) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    const upstream = net.connect(targetPort, "127.0.0.1", () => {
      let text = `${req.method} ${path} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
