/**
 * The WebSocket the client talks through: any constructor with the browser's shape (the
 * browser's and Decentraland's global `WebSocket`, or Node's `ws` package), and the URL
 * with the room's options.
 */

/** The part of the WebSocket API the client uses. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/**
 * A WebSocket constructor: the browser's, Node's `ws`, or the Decentraland explorer's (whose
 * socket `adaptSocket` in `socket.ts` brings to the `SocketLike` shape).
 */
export type SocketConstructor = new (url: string, protocols?: string | string[]) => object;

export const OPEN = 1;

export interface UrlOptions {
  /**
   * The snapshot encoding, sent as `?encoding=` as well as by subprotocol: the
   * Decentraland explorer's socket ignores subprotocols.
   */
  encoding?: "json" | "binary";
  scene?: string;
  spectate?: boolean;
  /** A handshake token (`--auth-secret`), sent as `?token=`. */
  token?: string;
  resume?: string;
  /** Extra query parameters the scene wants (unknown keys are ignored by the server). */
  query?: Record<string, string>;
}

/** `base` (ws://host:port/room, with or without a query) with the options added. */
export function roomUrl(base: string, o: UrlOptions): string {
  const params: [string, string][] = [];
  if (o.encoding !== undefined) params.push(["encoding", o.encoding]);
  if (o.scene !== undefined) params.push(["scene", o.scene]);
  if (o.spectate) params.push(["spectate", "1"]);
  if (o.token !== undefined) params.push(["token", o.token]);
  if (o.resume !== undefined) params.push(["resume", o.resume]);
  for (const [k, v] of Object.entries(o.query ?? {})) params.push([k, v]);
  if (params.length === 0) return base;
  const query = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return base + (base.includes("?") ? "&" : "?") + query;
}

/** The global `WebSocket`, where there is one. */
export function globalSocket(): SocketConstructor | undefined {
  return (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
}

/** Bytes of a frame's data (text as UTF-8 is approximated by its length). */
export function frameBytes(data: unknown): number {
  if (typeof data === "string") return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** A binary frame's bytes as a Uint8Array, whatever the socket delivered. */
export function frameArray(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}
