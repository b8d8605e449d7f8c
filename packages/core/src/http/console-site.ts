/**
 * The console's static site under `/console/`, as a `Request -> Response` handler over a file
 * reader: the local runtime reads packages/console/dist; in AWS the same files are deployment
 * assets behind the one base URL (infra/console.ts), served with the same headers.
 */

/** Where the console lives; `/` redirects here. */
export const CONSOLE_PATH = "/console/";

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only. No inline script or
 * style, no eval, no framing, images only from the platform (file URLs) or inline data.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers of every console response. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), clipboard-write=(self)",
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  woff2: "font/woff2",
  txt: "text/plain; charset=utf-8",
};

/** Reads a file of the built console by its path relative to the build's root; undefined when absent. */
export type ConsoleAssetReader = (relativePath: string) => Promise<Uint8Array<ArrayBuffer> | undefined>;

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...CONSOLE_SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/**
 * Answers `/`, `/console` and `/console/...`; anything else is not the site's (undefined), so the
 * control API, the gateway and the agent API keep their JSON answers, 404s included. Pages of the
 * single-page app (paths without a file extension) get index.html; a missing asset is a 404, never
 * index.html.
 */
export function createConsoleSite(
  read: ConsoleAssetReader,
): (request: Request) => Promise<Response | undefined> {
  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path !== "/" && path !== "/console" && !path.startsWith(CONSOLE_PATH)) return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") {
      if (path === "/") return undefined; // the control API answers its JSON 405/404
      return text(405, `${request.method} is not allowed on the console; allowed: GET, HEAD\n`, {
        allow: "GET, HEAD",
      });
    }
    if (path === "/" || path === "/console") {
      return new Response(null, {
        status: 302,
        headers: { location: CONSOLE_PATH, "cache-control": "no-store" },
      });
    }
    const segments = path
      .slice(CONSOLE_PATH.length)
      .split("/")
      .filter((s) => s !== "");
    const last = segments.at(-1) ?? "";
    const extension = /\.([a-z0-9]+)$/.exec(last)?.[1];
    const isAsset = segments[0] === "assets" || extension !== undefined;
    if (isAsset) {
      if (
        !segments.every((s) => SAFE_SEGMENT.test(s)) ||
        extension === undefined ||
        CONTENT_TYPES[extension] === undefined
      ) {
        return text(404, "No such console file.\n");
      }
      const body = await read(segments.join("/"));
      if (body === undefined) return text(404, "No such console file.\n");
      return new Response(request.method === "HEAD" ? null : body, {
        status: 200,
        headers: {
          ...CONSOLE_SECURITY_HEADERS,
          "content-type": CONTENT_TYPES[extension] as string,
          "content-length": String(body.byteLength),
          // Vite names assets by content digest: a name never changes meaning.
          "cache-control": segments[0] === "assets" ? "public, max-age=31536000, immutable" : "no-cache",
        },
      });
    }
    const page = await read("index.html");
    if (page === undefined) {
      return text(
        503,
        "The console is not built. Run `npm run build -w packages/console` (npm start and npm install build it).\n",
        {
          "retry-after": "5",
        },
      );
    }
    return new Response(request.method === "HEAD" ? null : page, {
      status: 200,
      headers: {
        ...CONSOLE_SECURITY_HEADERS,
        "content-type": CONTENT_TYPES.html as string,
        "cache-control": "no-cache",
      },
    });
  };
}
