/**
 * The operator panel: the server's own figures from `GET metrics` (relative to the page),
 * read every 2 s: connections, rooms, ticks per second, tick lateness (mean and p99 bucket
 * over the last window, with a sparkline of the p99) and dropped ticks. It adds no server
 * state: it is what any Prometheus scraper sees.
 */
import { el, formatBytes, setText } from "./dom.js";
import { between, scrape, type Scrape, type Window } from "./metrics.js";
import { poll } from "./poll.js";
import { operatorFetch } from "./urls.js";

const PERIOD_MS = 2000;
const HISTORY = 60;

export interface OperatorPanel {
  node: HTMLElement;
  last(): { scrape: Scrape | null; window: Window | null };
  stop(): void;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

function ms(v: number | null): string {
  if (v === null) return "–";
  if (!Number.isFinite(v)) return "> 250 ms";
  return v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`;
}

/** A histogram bucket's bound, as written in src/telemetry.rs (5, 2.5, 0.25 ms). */
function bound(v: number | null): string {
  if (v === null) return "–";
  if (!Number.isFinite(v)) return "> 250 ms";
  return `${Number(v.toFixed(3))} ms`;
}

/**
 * `open`: show the figures at once (the room list); closed, only the summary line shows (a
 * room). `token`: the page's `?token=`, for a server run with `--auth-secret`.
 */
export function operatorPanel(open: boolean, token: string | null = null): OperatorPanel {
  const fields = {
    connections: el("b", { text: "–" }),
    rooms: el("b", { text: "–" }),
    ticks: el("b", { text: "–" }),
    mean: el("b", { text: "–" }),
    p99: el("b", { text: "–" }),
    dropped: el("b", { text: "–" }),
    out: el("b", { text: "–" }),
  };
  const status = el("div", { class: "muted", text: "reading metrics…" });
  const spark = el("canvas", { class: "spark", attrs: { width: "240", height: "40" } });
  const summary = el("summary", { text: "Server" });
  const node = el("details", { class: "panel operator", attrs: { id: "operator" } }, [
    summary,
    el("div", {}, ["connections ", fields.connections, " · rooms ", fields.rooms]),
    el("div", {}, ["ticks/s ", fields.ticks, " · dropped ", fields.dropped]),
    el("div", {}, ["tick lateness: mean ", fields.mean, " · p99 ≤ ", fields.p99]),
    el("div", {}, ["sent ", fields.out]),
    spark,
    el("div", { class: "muted", text: "p99 tick lateness, last 2 min" }),
    status,
  ]);
  node.open = open;
  let previous: Scrape | null = null;
  let window: Window | null = null;
  const history: number[] = [];

  const request = (): Promise<Response> => fetch("metrics", operatorFetch(token));
  const stop = poll("metrics", PERIOD_MS, status, request, async (res) => {
    const now = scrape(await res.text(), performance.now() / 1000);
    setText(fields.connections, String(now.connections));
    setText(fields.rooms, String(now.rooms));
    if (previous) {
      window = between(previous, now);
      setText(fields.ticks, window.ticksPerSecond.toFixed(0));
      setText(fields.mean, ms(window.latenessMeanMs));
      setText(fields.p99, bound(window.latenessP99Ms));
      setText(fields.dropped, `${window.ticksDropped} (total ${now.ticksDropped})`);
      setText(fields.out, `${formatBytes(window.bytesOutPerSecond)}/s`);
      history.push(window.latenessP99Ms === null ? 0 : Math.min(window.latenessP99Ms, 250));
      if (history.length > HISTORY) history.shift();
      drawSpark(spark, history);
      setText(summary, `Server: ${plural(now.connections, "connection")} · ${plural(now.rooms, "room")} · tick p99 ≤ ${bound(window.latenessP99Ms)}`);
    }
    previous = now;
    setText(status, `updated ${new Date().toLocaleTimeString()}`);
  });
  return {
    node,
    last: () => ({ scrape: previous, window }),
    stop,
  };
}

function drawSpark(canvas: HTMLCanvasElement, values: number[]): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const top = Math.max(1, ...values);
  ctx.strokeStyle = "#7fd1ff";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / (HISTORY - 1)) * (w - 2) + 1;
    const y = h - 2 - (v / top) * (h - 12);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = "#9aa7b4";
  ctx.font = "10px sans-serif";
  ctx.fillText(`0–${bound(top)}`, 2, 10);
}
