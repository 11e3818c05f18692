/**
 * The socket as the client sees it, whatever host made it. Browsers and Node's `ws` give
 * the WHATWG shape; the Decentraland scene runtime's `WebSocket` differs (see the
 * README's Decentraland section):
 *
 * - `onmessage` receives `{type: "text" | "binary", data}`, and the bytes of a binary
 *   frame may be an `ArrayBuffer`, any typed array or a plain array of byte values;
 * - `onclose` receives `{type: "close"}`, without a code or reason (or nothing at all);
 * - `binaryType` may refuse to be set, `readyState` may be missing;
 * - the `protocols` argument is ignored (so the client names its encoding in the URL too,
 *   see `roomUrl`).
 *
 * `adaptSocket` wraps such a socket into the `SocketLike` the client drives: messages
 * carry a string, an `ArrayBuffer` or a `Uint8Array`; a close carries a code (1005, "no
 * status", when the host gave none).
 */
import type { SocketLike } from "./connection.js";

/** The least a host's socket has: the four `on…` properties, `send` and `close`. */
export interface HostSocket {
  binaryType?: string;
  readonly readyState?: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: unknown) => void) | null;
  onclose: ((ev?: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** The close code reported when the host's close event carries none (RFC 6455 "no status"). */
export const NO_STATUS = 1005;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** A plain array of byte values as bytes, or `null` when some entry is not a byte. */
export function bytesFromArray(values: readonly unknown[]): Uint8Array | null {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) return null;
    out[i] = v;
  }
  return out;
}

/**
 * A frame's payload as the client decodes it: a string (text frame), an `ArrayBuffer` or
 * typed array (binary frame, as given), a plain array of byte values turned into a
 * `Uint8Array`; `null` for anything else.
 */
export function framePayload(data: unknown): string | ArrayBuffer | ArrayBufferView | null {
  if (typeof data === "string" || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data;
  if (Array.isArray(data)) return bytesFromArray(data);
  return null;
}

/**
 * The payload of a message event: the browser's `MessageEvent`, the explorer's
 * `{type, data}`, or (from a bridge that passes the data alone) the payload itself.
 */
export function messagePayload(ev: unknown): string | ArrayBuffer | ArrayBufferView | null {
  if (ev !== null && typeof ev === "object" && !Array.isArray(ev) && !ArrayBuffer.isView(ev) && !(ev instanceof ArrayBuffer)) {
    return framePayload((ev as { data?: unknown }).data);
  }
  return framePayload(ev);
}

/** The code and reason of a close event, `NO_STATUS` and `""` where the host gave none. */
export function closeDetails(ev: unknown): { code: number; reason: string } {
  const e = (ev ?? {}) as { code?: unknown; reason?: unknown };
  return {
    code: typeof e.code === "number" && e.code > 0 ? e.code : NO_STATUS,
    reason: typeof e.reason === "string" ? e.reason : "",
  };
}

class AdaptedSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private state = CONNECTING;

  constructor(private readonly raw: HostSocket) {
    try {
      raw.binaryType = "arraybuffer";
    } catch {
      // The explorer's socket delivers bytes as it likes and throws on any other value.
    }
    raw.onopen = (ev) => {
      this.state = OPEN;
      this.onopen?.(ev);
    };
    raw.onmessage = (ev) => this.onmessage?.({ data: messagePayload(ev) });
    raw.onclose = (ev) => {
      this.state = CLOSED;
      this.onclose?.(closeDetails(ev));
    };
    raw.onerror = (ev) => this.onerror?.(ev);
  }

  get binaryType(): string {
    return "arraybuffer";
  }

  set binaryType(_value: string) {
    // Set once on the host's socket in the constructor.
  }

  get readyState(): number {
    const r = this.raw.readyState;
    return typeof r === "number" ? r : this.state;
  }

  send(data: string): void {
    this.raw.send(data);
  }

  close(code?: number, reason?: string): void {
    try {
      this.raw.close(code, reason);
    } catch {
      this.raw.close();
    }
  }
}

/** The host's socket as the client drives it (see the module comment). */
export function adaptSocket(raw: HostSocket): SocketLike {
  return new AdaptedSocket(raw);
}
