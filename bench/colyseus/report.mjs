// The driver's JSON summary, with ballroom-load's key names (src/bin/ballroom-load/report.rs)
// where the two measure the same thing.
import { Tally, round3 } from "./measure.mjs";

export function report({ params, windowStartMs, stats, series, server, load }) {
  const connected = stats.filter((s) => s.connected);
  const rates = connected.map((s) => s.bytes / params.duration);
  const sum = (f) => stats.reduce((n, s) => n + f(s), 0);
  const merged = (f) => {
    const t = new Tally();
    for (const s of stats) for (const [k, v] of Object.entries(f(s).counts)) t.add(k, v);
    return t;
  };
  const tally = (reasons) => {
    const t = new Tally();
    for (const r of reasons) if (r) t.add(r);
    return t;
  };
  const [frames, bytes] = [sum((s) => s.patchFrames), sum((s) => s.patchBytes)];
  const ramp = Math.max(...connected.map((s) => s.connectedAfter));
  return {
    tool: "colyseus-load",
    mode: "physics",
    params,
    window_start_ms: round3(windowStartMs),
    connections: {
      attempted: stats.length, connected: connected.length, failed: stats.length - connected.length,
      failures: tally(stats.map((s) => s.connectError)),
      welcomed: stats.filter((s) => s.welcomed).length,
      ended_early: stats.filter((s) => s.endedEarly).length,
      ended_early_reasons: tally(stats.map((s) => s.endedEarly)),
      ramp_ms: connected.length ? round3(ramp) : null,
    },
    frames_received: sum((s) => s.frames),
    bytes_per_client_per_s: {
      mean: rates.length ? round3(rates.reduce((x, y) => x + y, 0) / rates.length) : null,
      max: rates.length ? round3(Math.max(...rates)) : null,
    },
    kicks: {
      sent: sum((s) => s.kicksSent), acked: sum((s) => s.kicksAcked), errors: merged((s) => s.kickErrors),
      unacked: sum((s) => [...s.pending.values()].filter(([, counted]) => counted).length),
      latency_ms: series.kickLatency.describe(),
    },
    other_errors: merged((s) => s.otherErrors),
    snapshots: {
      received: sum((s) => s.snapshots), missed: sum((s) => s.missed), jitter_ms: series.jitter.describe(),
      tick_jitter_ms: series.tickJitter.describe(), clients_with_gaps: stats.filter((s) => s.missed > 0).length,
      size: { frames, bytes_per_snapshot: frames ? round3(bytes / frames) : null },
    },
    server,
    load,
  };
}
