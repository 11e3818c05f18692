/**
 * Every URL the page uses, relative to the page itself, so the viewer works wherever it is
 * served: at `http://HOST:8080/` or under a path prefix behind a proxy
 * (`https://HOST/ballroom/`, see docs/deploy.md). Pure functions of the page's URL.
 *
 * On a server run with `--auth-secret`, `/rooms`, `/metrics` and every room need a token:
 * the page is opened as `?token=<token for room "*">`, its own links carry the token on,
 * `rooms` and `metrics` are fetched with it (`Authorization: Bearer`), and the room's
 * WebSocket sends it as `?token=`.
 */

/** The page that shows `room` (same path as this page, its query replaced). */
export function roomPageHref(room: string, scene?: string, token?: string | null): string {
  const q = new URLSearchParams({ room });
  if (scene) q.set("scene", scene);
  if (token) q.set("token", token);
  return `?${q.toString()}`;
}

/** The page's own directory: the room list (with the page's token, if any). */
export function listHref(token?: string | null): string {
  return token ? `./?${new URLSearchParams({ token }).toString()}` : "./";
}

/**
 * What `?room=`, `?scene=` and `?token=` of the page ask for. A room name always starts
 * with `/`.
 */
export function pageRoute(search: string): { room: string | null; scene: string | null; token: string | null } {
  const q = new URLSearchParams(search);
  const raw = q.get("room");
  const scene = q.get("scene");
  const given = q.get("token");
  const token = given !== null && given !== "" ? given : null;
  if (raw === null || raw === "") return { room: null, scene: null, token };
  return { room: raw.startsWith("/") ? raw : `/${raw}`, scene: scene !== null && scene !== "" ? scene : null, token };
}

/** The options of a `fetch` of `rooms` or `metrics`: uncached, with the page's token. */
export function operatorFetch(token: string | null): RequestInit {
  const init: RequestInit = { cache: "no-store" };
  if (token) init.headers = { Authorization: `Bearer ${token}` };
  return init;
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

/**
 * A model file's URL as the page fetches it: the server's path (`/assets/models/x.glb`,
 * from the `welcome`) made relative to the page's directory, so that behind a proxy the
 * request goes through the same prefix (`/broadcast/assets/models/x.glb`; the server
 * answers `/assets/` under any directory).
 */
export function modelHref(url: string, pageHref: string): string {
  const path = url
    .replace(/^\/+/, "")
    .split("/")
    .map((segment) => encodeURIComponent(decodeURIComponent(segment)))
    .join("/");
  const href = new URL(`./${path}`, new URL("./", pageHref));
  href.search = "";
  href.hash = "";
  return href.toString();
}
