/**
 * The room list: `GET rooms` (relative to the page) every second, as a table whose room
 * names are text (never markup) linking to `?room=<name>`, and a form to open a room with a
 * scene (the viewer's spectator connection creates it).
 */
import { el, setText } from "./dom.js";
import { poll } from "./poll.js";
import { operatorFetch, roomPageHref } from "./urls.js";

export interface RoomRow {
  room: string;
  scene: string;
  clients: number;
  tick: number;
}

const PERIOD_MS = 1000;

function isRow(v: unknown): v is RoomRow {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.room === "string" && typeof r.scene === "string" && typeof r.clients === "number" && typeof r.tick === "number";
}

export interface RoomList {
  node: HTMLElement;
  rows(): readonly RoomRow[];
  stop(): void;
}

/** `token`: the page's `?token=`, for a server run with `--auth-secret`. */
export function roomList(token: string | null = null): RoomList {
  const body = el("tbody");
  const status = el("p", { class: "muted", text: "loading rooms…" });
  const table = el("table", { class: "rooms", attrs: { id: "rooms" } }, [
    el("thead", {}, [el("tr", {}, [el("th", { text: "Room" }), el("th", { text: "Scene" }), el("th", { text: "Clients" }), el("th", { text: "Tick" })])]),
    body,
  ]);
  const name = el("input", { attrs: { id: "new-room", value: "/lobby", "aria-label": "room name", spellcheck: "false" } });
  const scene = el("input", { attrs: { id: "new-scene", value: "kickballs", list: "scenes", "aria-label": "scene", spellcheck: "false" } });
  const form = el("form", { class: "open-room" }, [
    el("label", { text: "Open a room " }),
    name,
    el("label", { text: " with the scene " }),
    scene,
    el("datalist", { attrs: { id: "scenes" } }, [el("option", { attrs: { value: "kickballs" } }), el("option", { attrs: { value: "football" } })]),
    " ",
    el("button", { text: "Open", attrs: { type: "submit" } }),
  ]);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const room = name.value.trim();
    if (room === "") return;
    location.href = roomPageHref(room.startsWith("/") ? room : `/${room}`, scene.value.trim() || undefined, token);
  });
  const node = el("section", { class: "panel list" }, [
    el("h2", { text: "Rooms" }),
    table,
    status,
    form,
    el("p", {
      class: "muted",
      text: "A room is created by its first client and its scene is that client's ?scene=. Opening a room here watches it as a spectator; Play joins it.",
    }),
  ]);

  let rows: RoomRow[] = [];
  // Rows are kept by room name and only their cells' text changes, so a link is never
  // replaced under the pointer between a press and its release.
  const shown = new Map<string, { tr: HTMLTableRowElement; cells: HTMLTableCellElement[] }>();
  const render = (): void => {
    const wanted = new Set(rows.map((r) => r.room));
    for (const [room, row] of shown) {
      if (!wanted.has(room)) {
        row.tr.remove();
        shown.delete(room);
      }
    }
    rows.forEach((r, i) => {
      let row = shown.get(r.room);
      if (!row) {
        const link = el("a", { class: "room-link", text: r.room, attrs: { href: roomPageHref(r.room, undefined, token) } });
        const cells = [el("td", {}, [link]), el("td"), el("td", { class: "num" }), el("td", { class: "num" })];
        row = { tr: el("tr", {}, cells), cells };
        shown.set(r.room, row);
      }
      setText(row.cells[1]!, r.scene);
      setText(row.cells[2]!, String(r.clients));
      setText(row.cells[3]!, String(r.tick));
      if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] ?? null);
    });
  };
  const request = (): Promise<Response> => fetch("rooms", operatorFetch(token));
  const stop = poll("rooms", PERIOD_MS, status, request, async (res) => {
    const data: unknown = await res.json();
    if (!Array.isArray(data)) throw new Error("not a list");
    rows = data.filter(isRow);
    render();
    setText(status, rows.length === 0 ? "No rooms yet: open one below, or connect a scene." : `${rows.length} room${rows.length === 1 ? "" : "s"}, refreshed every second`);
  });
  return {
    node,
    rows: () => rows,
    stop,
  };
}
