/**
 * The TypeScript decoder against the repository's test vectors: for every vector, the
 * bytes decode to exactly the integers the Rust encoder quantized, and to the same f32
 * values the Rust decoder gives. Then the decoder's refusals: truncations, flipped bits
 * and random bytes give a DecodeError, never another exception.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { DecodeError } from "../src/protocol/binary/errors.js";
import { readFrame } from "../src/protocol/binary/frame.js";
import { kickCommand, messageCommand } from "../src/protocol/json.js";
import { parseServerMessage } from "../src/protocol/messages.js";
import { SnapshotDecoder, decode, header } from "../src/protocol/binary/decode.js";
import { parseParams } from "../src/protocol/binary/params.js";
import { quantize } from "../src/protocol/binary/quantize.js";
import { toSnapshot } from "../src/protocol/binary/quantized.js";
import type { Snapshot } from "../src/types.js";
import { seeded } from "./support/random.js";
import { loadVectors, type VectorSnapshot } from "./support/vectors.js";

const vectors = loadVectors();
const f32 = Math.fround;

function quantized(params: ReturnType<typeof parseParams>, v: VectorSnapshot) {
  return quantize(params, v.snapshot, { tick: v.tick, players: v.players, acks: v.acks });
}

function assertSameFloats(got: Snapshot, want: Snapshot, name: string): void {
  assert.equal(got.time, want.time, `${name}: time`);
  assert.equal(got.balls.length, want.balls.length);
  got.balls.forEach((b, i) => {
    const w = want.balls[i]!;
    assert.equal(b.id, w.id);
    assert.equal(b.sleeping, w.sleeping);
    for (const key of ["position", "linvel", "angvel", "rotation"] as const) {
      const g = b[key] as unknown as Record<string, number>;
      const e = w[key] as unknown as Record<string, number>;
      for (const c of Object.keys(e)) {
        // The vectors write f32 values as JSON numbers: the same f32 after Math.fround.
        assert.equal(g[c]! + 0, f32(e[c]!) + 0, `${name}: ball ${b.id} ${key}.${c}`);
      }
    }
  });
  const players = got.players ?? [];
  assert.equal(players.length, (want.players ?? []).length, `${name}: players`);
  players.forEach((p, i) => {
    const w = want.players![i]!;
    assert.equal(p.team, w.team);
    for (const key of ["position", "rotation"] as const) {
      const g = p[key] as unknown as Record<string, number>;
      const e = w[key] as unknown as Record<string, number>;
      for (const c of Object.keys(e)) assert.equal(g[c]! + 0, f32(e[c]!) + 0, `${name}: player ${key}.${c}`);
    }
  });
}

test("there are test vectors, keyframes and deltas among them", () => {
  assert.ok(vectors.length >= 6, `only ${vectors.length} vectors`);
  assert.ok(vectors.some((v) => v.baseline === null));
  assert.ok(vectors.some((v) => v.baseline !== null));
});

for (const v of vectors) {
  test(`vector ${v.name}: decodes to the encoder's integers and the Rust decoder's floats`, () => {
    const params = parseParams(v.params);
    const baseline = v.baseline === null ? null : quantized(params, v.baseline);
    const got = decode(params, baseline, v.bytes);
    // Integers: exactly what the Rust encoder quantized from `current`.
    assert.deepEqual(got, quantized(params, v.current));
    // Floats: exactly the Rust decoder's `decoded`.
    assert.equal(got.tick, v.decoded.tick);
    assert.deepEqual(
      got.players.map((p) => p.client),
      v.decoded.players,
    );
    assert.deepEqual(got.acks, v.decoded.acks);
    assertSameFloats(toSnapshot(params, got), v.decoded.snapshot, v.name);
    // The header names the baseline's tick.
    assert.equal(header(v.bytes).baselineTick, baseline?.tick ?? null);
  });
}

test("a SnapshotDecoder takes the baseline of the tick a delta names from its recent snapshots", () => {
  for (const v of vectors.filter((x) => x.baseline !== null)) {
    const params = parseParams(v.params);
    const d = new SnapshotDecoder(params);
    const baseline = quantized(params, v.baseline!);
    // Prime it with the baseline then an unrelated later-decoded keyframe of another tick.
    (d as unknown as { recent: unknown[] }).recent.push(baseline, { ...baseline, tick: baseline.tick + 1000n });
    assert.deepEqual(d.decode(v.bytes), quantized(params, v.current), v.name);
  }
});

test("a delta without its baseline, or against the wrong one, is refused", () => {
  const v = vectors.find((x) => x.baseline !== null)!;
  const params = parseParams(v.params);
  assert.throws(() => decode(params, null, v.bytes), (e: unknown) => e instanceof DecodeError && e.kind === "missing_baseline");
  const wrong = { ...quantized(params, v.baseline!), tick: 0n };
  assert.throws(() => decode(params, wrong, v.bytes), (e: unknown) => e instanceof DecodeError && e.kind === "wrong_baseline");
});

test("every truncation and one trailing byte are refused", () => {
  for (const v of vectors) {
    const params = parseParams(v.params);
    const baseline = v.baseline === null ? null : quantized(params, v.baseline);
    for (let len = 0; len < v.bytes.length; len++) {
      assert.throws(() => decode(params, baseline, v.bytes.subarray(0, len)), DecodeError, `${v.name} cut at ${len}`);
    }
    const longer = new Uint8Array(v.bytes.length + 1);
    longer.set(v.bytes);
    assert.throws(() => decode(params, baseline, longer), (e: unknown) => e instanceof DecodeError && e.kind === "trailing_bytes");
  }
});

test("flipped bits and random bytes give a DecodeError or a snapshot within range, never another error", () => {
  const random = seeded(0xba11);
  let refused = 0;
  let decoded = 0;
  for (const v of vectors) {
    const params = parseParams(v.params);
    const baseline = v.baseline === null ? null : quantized(params, v.baseline);
    for (let i = 0; i < 400; i++) {
      const bytes = v.bytes.slice();
      if (i % 2 === 0) {
        const bit = Math.floor(random() * bytes.length * 8);
        bytes[bit >> 3]! ^= 0x80 >> (bit & 7);
      } else {
        for (let j = 1; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
      }
      try {
        const s = decode(params, baseline, bytes);
        decoded++;
        for (const b of s.balls) {
          b.position.forEach((p, a) => assert.ok(p >= 0 && p <= params.position.steps[a]!));
          b.linvel.forEach((x) => assert.ok(Math.abs(x) <= params.linvel.limit));
          b.angvel.forEach((x) => assert.ok(Math.abs(x) <= params.angvel.limit));
        }
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        refused++;
      }
    }
  }
  assert.ok(refused > 0 && refused + decoded === vectors.length * 400);
});

test("the relayed-frame vectors (tests/vectors/frames.json) read as their kind", () => {
  const text = readFileSync(fileURLToPath(new URL("../../../tests/vectors/frames.json", import.meta.url)), "utf8");
  const frames = (JSON.parse(text) as { vectors: { name: string; frame: string; kind: string; payload?: string }[] }).vectors;
  assert.ok(frames.length >= 8);
  const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
  for (const v of frames) {
    const got = readFrame(unhex(v.frame));
    assert.equal(got.kind, v.kind, v.name);
    if (got.kind === "relayed") assert.deepEqual([...got.payload], [...unhex(v.payload!)], v.name);
    if (got.kind === "snapshot") assert.doesNotThrow(() => header(got.bytes), v.name);
  }
});

test("the command vectors (tests/vectors/commands.json): kicks are written as the server reads them", () => {
  interface CommandVector {
    name: string;
    args: { ball: number; impulse: [number, number, number]; seq: number; point: [number, number, number] | null; seen_at: number | null; tick: number | null };
    text: string;
  }
  const text = readFileSync(fileURLToPath(new URL("../../../tests/vectors/commands.json", import.meta.url)), "utf8");
  const file = JSON.parse(text) as { vectors: CommandVector[] };
  assert.ok(file.vectors.length >= 4);
  const v3 = ([x, y, z]: [number, number, number]) => ({ x, y, z });
  for (const v of file.vectors) {
    const a = v.args;
    const got = kickCommand(a.ball, v3(a.impulse), a.seq, a.point ? v3(a.point) : undefined, a.seen_at ?? undefined, a.tick ?? undefined);
    assert.equal(got, v.text, v.name);
  }
});

test("the rules vectors (tests/vectors/rules.json): messages are written as the server reads them, and its messages parse only in a room with rules", () => {
  interface RulesVectors {
    commands: { name: string; args: { name: string; data: unknown }; text: string }[];
    bad_names: string[];
    server: { name: string; text: string; message?: { name: string; data: unknown }; rules_state?: { state: unknown; tick: number } }[];
  }
  const text = readFileSync(fileURLToPath(new URL("../../../tests/vectors/rules.json", import.meta.url)), "utf8");
  const file = JSON.parse(text) as RulesVectors;
  assert.ok(file.commands.length >= 3 && file.server.length >= 2);
  for (const v of file.commands) {
    assert.equal(messageCommand(v.args.name, v.args.data), v.text, v.name);
    // Elsewhere it is a broadcast scene's own frame.
    assert.equal(parseServerMessage(v.text, false), null, v.name);
  }
  for (const name of file.bad_names) assert.throws(() => messageCommand(name, 1), RangeError, name);
  for (const v of file.server) {
    assert.equal(parseServerMessage(v.text, false), null, v.name);
    const m = parseServerMessage(v.text, true);
    if (v.message) assert.deepEqual(m, { type: "message", ...v.message }, v.name);
    if (v.rules_state) assert.deepEqual(m, { type: "rules_state", ...v.rules_state }, v.name);
  }
});
