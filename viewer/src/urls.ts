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
 * The WebSocket URL of `room` (a room name is the server's percent-decoded URL path),
 * resolved against the page's directory so a proxy's path prefix is kept: the page at
 * `https://HOST/ballroom/?room=/lobby` connects to `wss://HOST/ballroom/lobby`, which a
 * proxy that strips `/ballroom` hands to the server as room `/lobby`.
 *
 * Each segment is percent-encoded, so `?`, `#`, `%` and spaces in a name stay in the path,
 * and the reference starts with `./` so a name that starts with `//` cannot leave the prefix
 * (or the host).
 */
export function roomSocketUrl(room: string, pageHref: string): string {
  const path = room
    .replace(/^\//, "")
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
  const url = new URL(`./${path}`, pageHref);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.hash = "";
  return url.toString();
}
