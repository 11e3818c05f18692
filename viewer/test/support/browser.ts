/**
 * Debian's Chromium, headless, driven by playwright-core (no browser download): a fresh
 * profile in a temporary directory, SwiftShader for WebGL (no GPU), screenshots saved under
 * the repository's target/viewer-screenshots/ (or $VIEWER_SCREENSHOTS), and pixel
 * comparison of screenshot regions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PNG } from "pngjs";
import { chromium, type BrowserContext, type Page } from "playwright-core";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
export const SCREENSHOTS = resolve(process.env.VIEWER_SCREENSHOTS ?? join(REPO, "target/viewer-screenshots"));

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // WebGL without a GPU: ANGLE on SwiftShader, which newer Chromium no longer picks by itself.
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
];

export interface Browser {
  context: BrowserContext;
  newPage(width: number, height: number): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh Chromium with its own profile; `extraArgs` go after the usual ones. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "ballroom-viewer-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
  return {
    context,
    newPage: async (width, height) => {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Take a screenshot of the page and keep it as `name`.png. */
export async function screenshot(page: Page, name: string): Promise<PNG> {
  const bytes = await page.screenshot();
  mkdirSync(SCREENSHOTS, { recursive: true });
  writeFileSync(join(SCREENSHOTS, `${name}.png`), bytes);
  return PNG.sync.read(bytes);
}

export interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The square of half-side `half` around a point, clipped to the image. */
export function around(p: { x: number; y: number }, half: number, png: PNG): Region {
  return {
    x0: Math.max(0, Math.floor(p.x - half)),
    y0: Math.max(0, Math.floor(p.y - half)),
    x1: Math.min(png.width, Math.ceil(p.x + half)),
    y1: Math.min(png.height, Math.ceil(p.y + half)),
  };
}

/** The fraction of the region's pixels whose colour differs by more than `threshold` (0–255, any channel). */
export function changedFraction(a: PNG, b: PNG, r: Region, threshold = 40): number {
  let changed = 0;
  let total = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      const i = (y * a.width + x) * 4;
      total++;
      if (
        Math.abs(a.data[i]! - b.data[i]!) > threshold ||
        Math.abs(a.data[i + 1]! - b.data[i + 1]!) > threshold ||
        Math.abs(a.data[i + 2]! - b.data[i + 2]!) > threshold
      ) {
        changed++;
      }
    }
  }
  return total === 0 ? 0 : changed / total;
}
