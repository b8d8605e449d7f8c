import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

export type FetchHandler = (request: Request) => Promise<Response>;

/** Turns a node:http request into a web Request; the body streams, it is not buffered. */
export function toWebRequest(req: IncomingMessage, origin: string, res?: ServerResponse): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = req.method ?? "GET";
  const controller = new AbortController();
  // A client that goes away before the response is finished aborts the request, so handlers can
  // cancel upstream work. Listening on the response, not the keep-alive socket, adds one listener per request.
  res?.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(new URL(req.url ?? "/", origin), {
    method,
    headers,
    signal: controller.signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}),
  } as RequestInit);
}

/** Writes a web Response to node:http, streaming chunks as they come and stopping if the client leaves. */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once("close", () => {
    reader.cancel().catch(() => undefined);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await new Promise<void>((resolve) => res.once("drain", resolve));
    }
    res.end();
  } catch {
    res.destroy();
  }
}

export interface HttpServerHandle {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Serves a fetch handler on node:http: the local runtime of every HTTP surface. */
export async function serve(handler: FetchHandler, options: { port: number; host?: string }): Promise<HttpServerHandle> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? `${host}:${options.port}`}`;
    handler(toWebRequest(req, origin, res))
      .then((response) => writeWebResponse(response, res))
      .catch((error: unknown) => {
        console.error("local runtime: unhandled error", error);
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "internal", message: "Internal error" } }));
      });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
