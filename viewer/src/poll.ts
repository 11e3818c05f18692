/**
 * Reading one of the server's plain HTTP endpoints now and then every `periodMs`, as the
 * room list and the operator panel do.
 */
import { setText } from "./dom.js";

/**
 * Call `request` (a `fetch` of a URL relative to the page, so a proxy's path prefix is
 * kept; each caller spells its own, which the tests read from the bundle) now and every
 * `periodMs`, and hand each successful response to `use`. A failure, of the request or of
 * `use`, is written to `status` as "cannot read {what}: …". Returns the function that stops
 * the polling.
 */
export function poll(
  what: string,
  periodMs: number,
  status: HTMLElement,
  request: () => Promise<Response>,
  use: (res: Response) => Promise<void>,
): () => void {
  const read = async (): Promise<void> => {
    try {
      const res = await request();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      await use(res);
    } catch (e) {
      setText(status, `cannot read ${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  void read();
  const timer = setInterval(() => void read(), periodMs);
  return () => clearInterval(timer);
}
