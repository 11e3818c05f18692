/**
 * A loopback TCP proxy that delays every chunk, in each direction, by a random time in
 * [minDelay, maxDelay] ms while keeping the byte order (a chunk never overtakes the one
 * before it, as on a real TCP path). `killConnections` cuts every connection at once,
 * without a close frame, as a network failure would.
 */
import net from "node:net";

export interface JitterProxy {
  port: number;
  /** Destroy every connection through the proxy now. */
  killConnections(): void;
  close(): Promise<void>;
  /** Connections accepted so far. */
  readonly accepted: number;
}

export async function startProxy(
  targetPort: number,
  options: { minDelay: number; maxDelay: number; random?: () => number },
): Promise<JitterProxy> {
  const random = options.random ?? Math.random;
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const delayed = (from: net.Socket, to: net.Socket): void => {
    // One FIFO and one timer per direction: chunks leave strictly in arrival order. (A
    // timer per chunk does not keep that order: Node groups timers by duration, and two
    // that fall due in the same millisecond may fire either way round, which reorders the
    // byte stream and corrupts the WebSocket framing.)
    const queue: { chunk: Buffer; releaseAt: number }[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastRelease = 0;
    const flush = (): void => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0]!.releaseAt <= now) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.releaseAt - now);
    };
    from.on("data", (chunk: Buffer) => {
      const now = performance.now();
      const delay = options.minDelay + (options.maxDelay - options.minDelay) * random();
      const releaseAt = Math.max(now + delay, lastRelease);
      lastRelease = releaseAt;
      queue.push({ chunk, releaseAt });
      if (timer === undefined) timer = setTimeout(flush, releaseAt - now);
    });
    from.on("close", () => {
      if (timer !== undefined) clearTimeout(timer);
    });
  };
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    delayed(client, upstream);
    delayed(upstream, client);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get accepted() {
      return accepted;
    },
    killConnections() {
      for (const s of sockets) s.destroy();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}
