/**
 * How a `ballroom.v2` connection's binary frames are told apart (docs/PROTOCOL.md,
 * "Relayed binary frames"): a server snapshot starts with its flags byte, whose high
 * nibble is the format (1); a frame another client sent, relayed, starts with 0x00 and
 * then the sender's bytes. A relayed frame can never be read as a snapshot.
 */

/** First byte of a relayed binary frame on a `ballroom.v2` connection. */
export const RELAYED = 0x00;

/** The snapshot format of the flags byte's high nibble. */
const FORMAT_VERSION = 1;

export type Frame =
  | { kind: "snapshot"; bytes: Uint8Array }
  | { kind: "relayed"; payload: Uint8Array }
  | { kind: "invalid"; reason: string };

/** Which kind of frame `bytes` is, by its first byte. */
export function readFrame(bytes: Uint8Array): Frame {
  if (bytes.length === 0) return { kind: "invalid", reason: "an empty binary frame" };
  const first = bytes[0]!;
  if (first === RELAYED) return { kind: "relayed", payload: bytes.subarray(1) };
  if (first >> 4 === FORMAT_VERSION) return { kind: "snapshot", bytes };
  return { kind: "invalid", reason: `a binary frame starting with 0x${first.toString(16).padStart(2, "0")}` };
}
