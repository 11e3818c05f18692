/**
 * A scripted protocol client for the browser tests: a raw WebSocket (the `ws` package)
 * speaking JSON (`ballroom.v1`), recording every server message it receives, with bounded
 * waits. Independent of the viewer and of ballroom-client, so what it sees is the server's
 * word.
 */
import WebSocket from "ws";

export type Message = Record<string, unknown> & { type?: string };

export interface SnapshotBall {
  id: number;
  p: [number, number, number];
  v: [number, number, number];
}

export interface Snapshot {
  tick: number;
  time: number;
  balls: SnapshotBall[];
  acks: Record<string, number>;
}

/** `/a b/<c>` → `/a%20b/%3Cc%3E`: a room name as a URL path. */
export function roomPath(room: string): string {
  return room
    .split("/")
    .map((s) => encodeURIComponent(s))
    .join("/");
}

export class ProtocolClient {
  readonly messages: Message[] = [];
  readonly snapshots: Snapshot[] = [];
  welcome: Message | null = null;
  private waiters: (() => void)[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data, binary) => {
      if (binary) return;
      let m: Message;
      try {
        m = JSON.parse(data.toString()) as Message;
      } catch {
        return;
      }
      this.messages.push(m);
      if (m.type === "welcome") this.welcome = m;
      if (m.type === "snapshot") this.snapshots.push(m as unknown as Snapshot);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Connect to `room` on `port` (the room's scene from `scene`), and wait for the welcome. */
  static async connect(port: number, room: string, query: Record<string, string> = {}): Promise<ProtocolClient> {
    const q = new URLSearchParams(query).toString();
    const ws = new WebSocket(`ws://127.0.0.1:${port}${roomPath(room)}${q ? `?${q}` : ""}`, ["ballroom.v1"]);
    const c = new ProtocolClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    await c.waitFor((m) => m.type === "welcome", 5000, "welcome");
    return c;
  }

  get id(): number {
    return this.welcome!.client as number;
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The first message from index `from` on that satisfies `pred`, waiting at most `ms`. */
  async waitFor(pred: (m: Message) => boolean, ms: number, what: string, from = 0): Promise<Message> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms (last messages: ${JSON.stringify(this.messages.slice(-3))})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Ball `id` at room time `t`, linearly between the two snapshots around it (null: not covered). */
  ballAt(id: number, t: number): [number, number, number] | null {
    const s = this.snapshots;
    for (let i = 1; i < s.length; i++) {
      const a = s[i - 1]!;
      const b = s[i]!;
      if (a.time <= t && t <= b.time) {
        const pa = a.balls.find((x) => x.id === id)?.p;
        const pb = b.balls.find((x) => x.id === id)?.p;
        if (!pa || !pb) return null;
        const k = b.time === a.time ? 0 : (t - a.time) / (b.time - a.time);
        return [pa[0] + (pb[0] - pa[0]) * k, pa[1] + (pb[1] - pa[1]) * k, pa[2] + (pb[2] - pa[2]) * k];
      }
    }
    return null;
  }

  close(): void {
    this.ws.close();
  }
}
