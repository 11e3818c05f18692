// What the load driver measures with, after ballroom-load's stats.rs, rng.rs and
// server_watch.rs: bounded samples and their percentiles, tallies, a seeded PRNG, and
// the server's CPU time and memory from /proc over the measurement window.
import { readFileSync } from "node:fs";

/** utime + stime unit in /proc/PID/stat (USER_HZ), 100 on Linux. */
export const CLK_TCK = 100;
const SAMPLE_CAP = 100_000;

export const round3 = (v) => Math.round(v * 1000) / 1000;

/** Uniform floats in [0, 1) from a seed (SplitMix32). */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Exact count, sum and max; up to SAMPLE_CAP values kept (reservoir) for percentiles. */
export class Series {
  constructor(random) {
    Object.assign(this, { random, samples: [], seen: 0, sum: 0, max: 0 });
  }

  push(v) {
    this.seen += 1;
    this.sum += v;
    this.max = Math.max(this.max, v);
    if (this.samples.length < SAMPLE_CAP) this.samples.push(v);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < SAMPLE_CAP) this.samples[j] = v;
    }
  }

  /** {count, p50, p99, max, mean}, as ballroom-load's `describe`. */
  describe() {
    if (this.seen === 0) return { count: 0, p50: null, p99: null, max: null, mean: null };
    const s = Float64Array.from(this.samples).sort();
    const pct = (q) => round3(s[Math.min(s.length, Math.max(1, Math.ceil(q * s.length))) - 1]);
    return { count: this.seen, p50: pct(0.5), p99: pct(0.99), max: round3(this.max), mean: round3(this.sum / this.seen) };
  }
}

export class Tally {
  constructor() { this.counts = {}; }
  add(what, n = 1) { this.counts[what] = (this.counts[what] ?? 0) + n; }
  toJSON() { return Object.fromEntries(Object.entries(this.counts).sort()); }
}

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 1).trim().split(/\s+/);
  return Number(f[11]) + Number(f[12]); // utime, stime
}

function statusKib(pid, key) {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(key));
  return line ? Number(line.split(/\s+/)[1]) : null;
}

/**
 * CPU seconds of `pid` over [start, end) (ms, performance.now() clock), VmRSS every 100 ms
 * in between, VmHWM at the end. Resolves to ballroom-load's `server` figures.
 */
export function watchServer(pid, start, end) {
  const fig = { pid, cpu_seconds: null, peak_rss_kib: null, vm_hwm_kib: null, rss_samples: 0, clk_tck_assumed: CLK_TCK, error: null };
  return new Promise((resolve) => {
    setTimeout(() => {
      let cpu0;
      try {
        cpu0 = cpuTicks(pid);
      } catch (e) {
        fig.error = `server process: ${e.message}`;
        return resolve(fig);
      }
      const sample = () => {
        try {
          const rss = statusKib(pid, "VmRSS:");
          if (rss != null) {
            fig.rss_samples += 1;
            fig.peak_rss_kib = Math.max(fig.peak_rss_kib ?? 0, rss);
          }
        } catch { /* gone: reported at the end */ }
      };
      sample();
      const timer = setInterval(sample, 100);
      setTimeout(() => {
        clearInterval(timer);
        try {
          fig.cpu_seconds = round3((cpuTicks(pid) - cpu0) / CLK_TCK);
          fig.vm_hwm_kib = statusKib(pid, "VmHWM:");
        } catch (e) {
          fig.error = `server process at the end of the window: ${e.message}`;
        }
        resolve(fig);
      }, Math.max(0, end - performance.now()));
    }, Math.max(0, start - performance.now()));
  });
}
