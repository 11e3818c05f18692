/**
 * Reading the server's `GET /metrics` (Prometheus text format) into the few figures the
 * operator panel shows. Pure functions: no fetching, no DOM. Series names are those of
 * src/telemetry.rs.
 */

export interface Series {
  labels: Record<string, string>;
  value: number;
}

/** Every sample of the text, by metric name (histogram parts keep their suffixes). */
export function parseMetrics(text: string): Map<string, Series[]> {
  const out = new Map<string, Series[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(value)) continue;
    const name = m[1]!;
    const list = out.get(name) ?? [];
    list.push({ labels, value });
    out.set(name, list);
  }
  return out;
}

/** A cumulative histogram: `[upper bound, count at or below it]`, ascending, `+Inf` last. */
export interface Histogram {
  buckets: [number, number][];
  sum: number;
  count: number;
}

/** What one scrape says. */
export interface Scrape {
  /** Seconds, the page's clock when read. */
  at: number;
  connections: number;
  rooms: number;
  ticksDropped: number;
  bytesOut: number;
  lateness: Histogram;
}

function total(m: Map<string, Series[]>, name: string): number {
  return (m.get(name) ?? []).reduce((acc, s) => acc + s.value, 0);
}

function histogram(m: Map<string, Series[]>, name: string): Histogram {
  const buckets = (m.get(`${name}_bucket`) ?? [])
    .map((s): [number, number] => [s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value])
    .filter(([le]) => !Number.isNaN(le))
    .sort((a, b) => a[0] - b[0]);
  return { buckets, sum: total(m, `${name}_sum`), count: total(m, `${name}_count`) };
}

export function scrape(text: string, at: number): Scrape {
  const m = parseMetrics(text);
  return {
    at,
    connections: total(m, "ballroom_connections"),
    rooms: total(m, "ballroom_rooms"),
    // A counter that never moved is not rendered at all: zero.
    ticksDropped: total(m, "ballroom_ticks_dropped_total"),
    bytesOut: total(m, "ballroom_bytes_out_total"),
    lateness: histogram(m, "ballroom_tick_lateness_seconds"),
  };
}

/** What happened between two scrapes. */
export interface Window {
  seconds: number;
  ticksPerSecond: number;
  /** Mean tick lateness in the window, ms (null: no tick ran). */
  latenessMeanMs: number | null;
  /** The bucket bound that 99 % of the window's ticks were at or under, ms (Infinity: past the last bound). */
  latenessP99Ms: number | null;
  ticksDropped: number;
  bytesOutPerSecond: number;
}

export function between(before: Scrape, after: Scrape): Window {
  const seconds = Math.max(1e-3, after.at - before.at);
  const count = after.lateness.count - before.lateness.count;
  const sum = after.lateness.sum - before.lateness.sum;
  let p99: number | null = null;
  if (count > 0) {
    const earlier = new Map(before.lateness.buckets);
    for (const [le, cumulative] of after.lateness.buckets) {
      if (cumulative - (earlier.get(le) ?? 0) >= 0.99 * count) {
        p99 = le * 1000;
        break;
      }
    }
    p99 ??= Infinity;
  }
  return {
    seconds,
    ticksPerSecond: count / seconds,
    latenessMeanMs: count > 0 ? (sum / count) * 1000 : null,
    latenessP99Ms: p99,
    ticksDropped: Math.max(0, after.ticksDropped - before.ticksDropped),
    bytesOutPerSecond: Math.max(0, after.bytesOut - before.bytesOut) / seconds,
  };
}
