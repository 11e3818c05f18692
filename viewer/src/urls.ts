/**
 * Every URL the page uses, relative to the page itself, so the viewer works wherever it is
 * served: at `http://HOST:8080/` or under a path prefix behind a proxy
 * (`https://HOST/ballroom/`, see docs/deploy.md). Pure functions of the page's URL.
 */

/** The page that shows `room` (same path as this page, its query replaced). */
export function roomPageHref(room: string, scene?: string): string {
  const q = new URLSearchParams({ room });
  if (scene) q.set("scene", scene);
  return `?${q.toString()}`;
}

/** The page's own directory with no query: the room list. */
export function listHref(): string {
  return "./";
}

/** What `?room=` and `?scene=` of the page ask for. A room name always starts with `/`. */
export function pageRoute(search: string): { room: string | null; scene: string | null } {
  const q = new URLSearchParams(search);
  const raw = q.get("room");
  const scene = q.get("scene");
  if (raw === null || raw === "") return { room: null, scene: null };
  return { room: raw.startsWith("/") ? raw : `/${raw}`, scene: scene !== null && scene !== "" ? scene : null };
}

/**
 * The directory the server saw this page asked for under, from the page's
 * `<meta name="ballroom-mount">` (the server writes it): `/` when the page is served at the
 * server's root (directly, or by a proxy that strips its prefix), `/broadcast/` behind a
 * proxy that forwards its prefix whole (`location /broadcast { proxy_pass
 * http://127.0.0.1:8080; }`). `/` when the page says nothing.
 */
export function pageMount(doc: { querySelector(selector: string): { getAttribute(name: string): string | null } | null }): string {
  const content = doc.querySelector('meta[name="ballroom-mount"]')?.getAttribute("content") ?? "/";
  return content.startsWith("/") && content.endsWith("/") ? content : "/";
}

/**
 * The WebSocket URL of `room` (a room name is the server's percent-decoded URL path).
 *
 * The page's directory in the browser (`/ballroom/`, `/broadcast/`, `/`) and the directory
 * the server saw (`mount`) differ by whatever prefix a proxy strips: the server's root is
 * the page's directory less `mount`. So the page at `https://HOST/ballroom/?room=/lobby`
 * (prefix stripped, mount `/`) connects to `wss://HOST/ballroom/lobby`, and the page at
 * `https://HOST/broadcast/?room=/broadcast/r1` (prefix forwarded whole, mount
 * `/broadcast/`) to `wss://HOST/broadcast/r1`. Should the two not line up, the page's
 * directory is taken as the root.
 *
 * Each segment is percent-encoded, so `?`, `#`, `%` and spaces in a name stay in the path,
 * and the reference starts with `./` so a name that starts with `//` cannot leave the prefix
 * (or the host).
 */
export function roomSocketUrl(room: string, pageHref: string, mount = "/"): string {
  const path = room
    .replace(/^\//, "")
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
  const page = new URL("./", pageHref);
  const dir = page.pathname;
  if (mount !== "/" && dir.endsWith(mount)) page.pathname = `${dir.slice(0, dir.length - mount.length)}/`;
  const url = new URL(`./${path}`, page);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.hash = "";
  return url.toString();
}
