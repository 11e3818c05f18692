/** Loads `tests/vectors/snapshots.json` (the binary codec's test vectors) from the repository. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Snapshot, Team } from "../../src/types.js";

export const VECTORS_PATH = fileURLToPath(new URL("../../../../tests/vectors/snapshots.json", import.meta.url));

/** A snapshot of a vector, with the 64-bit ids and seqs kept exact as bigints. */
export interface VectorSnapshot {
  snapshot: Snapshot;
  tick: bigint;
  players: bigint[];
  acks: Map<bigint, bigint>;
}

export interface Vector {
  name: string;
  scene: string;
  params: unknown;
  baseline: VectorSnapshot | null;
  current: VectorSnapshot;
  bytes: Uint8Array;
  decoded: VectorSnapshot;
}

/** Integers too long for a double become strings before JSON.parse sees them. */
function parseExact(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"').replace(/"(\d{16,})"\s*:/g, '"$1":'));
}

function float(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  throw new Error(`not a number: ${JSON.stringify(v)}`);
}

const big = (v: unknown): bigint => BigInt(v as string | number);

function vec(v: unknown): { x: number; y: number; z: number } {
  const a = v as unknown[];
  return { x: float(a[0]), y: float(a[1]), z: float(a[2]) };
}

function quat(v: unknown): { x: number; y: number; z: number; w: number } {
  const a = v as unknown[];
  return { x: float(a[0]), y: float(a[1]), z: float(a[2]), w: float(a[3]) };
}

function snapshot(raw: unknown): VectorSnapshot {
  const o = raw as Record<string, unknown>;
  const balls = (o.balls as Record<string, unknown>[]).map((b) => ({
    id: Number(b.id),
    position: vec(b.position),
    rotation: quat(b.rotation),
    linvel: vec(b.linvel),
    angvel: vec(b.angvel),
    sleeping: b.sleeping === true,
  }));
  const rawPlayers = (o.players as Record<string, unknown>[] | undefined) ?? [];
  const players = rawPlayers.map((p) => ({
    client: Number(p.client),
    position: vec(p.position),
    rotation: quat(p.rotation),
    team: (p.team ?? null) as Team | null,
  }));
  const acks = new Map<bigint, bigint>();
  for (const [k, v] of Object.entries((o.acks ?? {}) as Record<string, unknown>)) acks.set(BigInt(k), big(v));
  const tick = big(o.tick);
  return {
    snapshot: {
      tick: Number(tick),
      time: Number(o.time),
      balls,
      players,
      acks: new Map([...acks].map(([k, v]) => [Number(k), Number(v)])),
    },
    tick,
    players: rawPlayers.map((p) => big(p.client)),
    acks,
  };
}

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function loadVectors(path = VECTORS_PATH): Vector[] {
  const file = parseExact(readFileSync(path, "utf8")) as { vectors: Record<string, unknown>[] };
  return file.vectors.map((v) => ({
    name: String(v.name),
    scene: String(v.scene),
    params: v.params,
    baseline: v.baseline === null ? null : snapshot(v.baseline),
    current: snapshot(v.current),
    bytes: hex(String(v.bytes)),
    decoded: snapshot(v.decoded),
  }));
}
