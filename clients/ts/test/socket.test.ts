/**
 * The socket adaptation (`socket.ts`) and the URL (`roomUrl`): every shape a host's socket
 * may deliver reaches the client as the same payload, and the encoding is in the URL.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { roomUrl } from "../src/connection.js";
import { NO_STATUS, adaptSocket, bytesFromArray, closeDetails, messagePayload, type HostSocket } from "../src/socket.js";

const bytes = [0x42, 0x01, 0xff, 0x00];

test("binary data as ArrayBuffer, typed arrays, Buffer and plain arrays gives the same bytes", () => {
  const ab = new Uint8Array(bytes).buffer;
  const shapes: unknown[] = [
    ab,
    new Uint8Array(bytes),
    new Uint8ClampedArray(bytes),
    new DataView(ab),
    Buffer.from(bytes),
    new Uint8Array([9, ...bytes, 9]).subarray(1, 5),
    bytes,
  ];
  for (const data of shapes) {
    for (const ev of [{ type: "binary", data }, { data }, data]) {
      const p = messagePayload(ev);
      assert.ok(p !== null && typeof p !== "string", `${Object.prototype.toString.call(data)}`);
      const view = p instanceof ArrayBuffer ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      assert.deepEqual([...view], bytes);
    }
  }
});

test("text frames stay strings; arrays of non-bytes and other objects are no payload", () => {
  assert.equal(messagePayload({ type: "text", data: '{"type":"pong"}' }), '{"type":"pong"}');
  assert.equal(messagePayload("hello"), "hello");
  assert.equal(bytesFromArray([1, 256]), null);
  assert.equal(bytesFromArray([1, -1]), null);
  assert.equal(bytesFromArray([1.5]), null);
  assert.equal(bytesFromArray(["1"]), null);
  assert.equal(messagePayload({ type: "binary", data: { length: 3 } }), null);
  assert.equal(messagePayload(undefined), null);
});

test("a close without a code is 1005; one with a code keeps it", () => {
  assert.deepEqual(closeDetails({ type: "close" }), { code: NO_STATUS, reason: "" });
  assert.deepEqual(closeDetails(undefined), { code: NO_STATUS, reason: "" });
  assert.deepEqual(closeDetails({ code: 1008, reason: "bad" }), { code: 1008, reason: "bad" });
});

/** The explorer's socket: no readyState, binaryType throws, events with `{type, data}`. */
class ExplorerSocket implements HostSocket {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: unknown) => void) | null = null;
  onclose: ((ev?: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closed = 0;
  get binaryType(): string {
    return "arraybuffer";
  }
  set binaryType(v: string) {
    if (v !== "arraybuffer") throw new Error("not supported");
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed++;
  }
}

test("the adapted explorer socket: open state from events, messages as payloads, close with 1005", () => {
  const raw = new ExplorerSocket();
  const s = adaptSocket(raw);
  const got: unknown[] = [];
  let closed: { code: number; reason: string } | null = null;
  s.onmessage = (ev) => got.push(ev.data);
  s.onclose = (ev) => (closed = ev);
  s.binaryType = "blob"; // ignored, never reaches the host's setter
  assert.equal(s.readyState, 0);
  raw.onopen!({ type: "open" });
  assert.equal(s.readyState, 1);
  raw.onmessage!({ type: "binary", data: bytes });
  raw.onmessage!({ type: "text", data: "hi" });
  assert.deepEqual(got, [new Uint8Array(bytes), "hi"]);
  s.send("x");
  assert.deepEqual(raw.sent, ["x"]);
  s.close(4000, "silent");
  assert.equal(raw.closed, 1);
  raw.onclose!({ type: "close" });
  assert.equal(s.readyState, 3);
  assert.deepEqual(closed, { code: 1005, reason: "" });
});

test("the URL names the encoding (the explorer's socket drops subprotocols)", () => {
  assert.equal(roomUrl("ws://h/r", { encoding: "binary", scene: "kickballs" }), "ws://h/r?encoding=binary&scene=kickballs");
  assert.equal(roomUrl("ws://h/r?x=1", { encoding: "json" }), "ws://h/r?x=1&encoding=json");
});
