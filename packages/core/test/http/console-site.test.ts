import { describe, expect, it } from "vitest";
import { CONSOLE_CSP, createConsoleSite } from "../../src";

const FILES: Record<string, string> = {
  "index.html": "<!doctype html><title>console</title>",
  "assets/index-abc123.js": "console.log(1)",
  "assets/style-abc123.css": "body{}",
};
const site = createConsoleSite(async (path) =>
  FILES[path] === undefined ? undefined : new TextEncoder().encode(FILES[path]),
);
const get = (path: string, method = "GET") => site(new Request(`http://local${path}`, { method }));

describe("the console site", () => {
  it("redirects / and /console to /console/", async () => {
    for (const path of ["/", "/console"]) {
      const response = await get(path);
      expect(response?.status).toBe(302);
      expect(response?.headers.get("location")).toBe("/console/");
    }
  });

  it("answers every page of the app with index.html under a strict CSP", async () => {
    for (const path of ["/console/", "/console/projects/acme/workloads/chat", "/console/tokens"]) {
      const response = await get(path);
      expect(response?.status).toBe(200);
      expect(response?.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await response?.text()).toBe(FILES["index.html"]);
      expect(response?.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect(response?.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response?.headers.get("x-frame-options")).toBe("DENY");
    }
    expect(CONSOLE_CSP).not.toMatch(/unsafe-(inline|eval)/);
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
  });

  it("serves assets with their type and an immutable cache; a missing asset is a 404, never the page", async () => {
    const js = await get("/console/assets/index-abc123.js");
    expect(js?.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js?.headers.get("cache-control")).toContain("immutable");
    expect((await get("/console/assets/style-abc123.css"))?.headers.get("content-type")).toBe(
      "text/css; charset=utf-8",
    );
    for (const path of [
      "/console/assets/gone.js",
      "/console/assets/x.exe",
      "/console/assets/..%2Findex.html",
      "/console/.env.js",
      "/console/assets/a%00b.js",
    ]) {
      const response = await get(path);
      expect(response?.status, path).toBe(404);
      expect(await response?.text(), path).not.toContain("<title>");
    }
  });

  it("leaves the API, the gateway and the agent API alone, JSON 404s included", async () => {
    for (const path of [
      "/v1/nothing",
      "/api/x",
      "/endpoint/acme/chat/v1/models",
      "/agent/v1/heartbeat",
      "/consoles",
      "/favicon.ico",
    ]) {
      expect(await get(path), path).toBeUndefined();
    }
    expect(await get("/", "POST")).toBeUndefined();
  });

  it("refuses writes with 405 and says when it is not built", async () => {
    expect((await get("/console/tokens", "POST"))?.status).toBe(405);
    const empty = createConsoleSite(async () => undefined);
    const response = await empty(new Request("http://local/console/"));
    expect(response?.status).toBe(503);
    expect(await response?.text()).toContain("npm run build -w packages/console");
  });
});
