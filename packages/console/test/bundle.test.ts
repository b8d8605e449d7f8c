import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildConsoleIfStale } from "../../../test/support/browser";
import { REPO_ROOT } from "../../../test/support/platform-process";

const DIST = join(REPO_ROOT, "packages/console/dist");
const BUDGET_BYTES = 250 * 1024;

describe("the console's build", () => {
  it("ships under 250 KB gzipped, with no inline script or style for the CSP to refuse", () => {
    buildConsoleIfStale();
    const assets = readdirSync(join(DIST, "assets"));
    const html = readFileSync(join(DIST, "index.html"), "utf8");
    const sizes = [...assets.map((name) => readFileSync(join(DIST, "assets", name))), Buffer.from(html)].map(
      (bytes) => gzipSync(bytes, { level: 9 }).byteLength,
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    console.log(
      `console bundle: ${assets.length} assets, ${(total / 1024).toFixed(1)} KB gzipped (budget 250 KB)`,
    );
    expect(total).toBeLessThan(BUDGET_BYTES);
    expect(assets.some((name) => name.endsWith(".js"))).toBe(true);
    // Every script and stylesheet is a file of its own: the page has no inline code at all.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });
});
