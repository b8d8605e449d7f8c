import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { drained, type GatewayReply, type GatewayRequest } from "@inferencekey/core";

export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * Requests under `prefix` are served without web Request/Response objects: the handler gets a
 * GatewayRequest bound straight to node:http and its reply is written straight back. The data
 * plane's hot path; everything else goes through the FetchHandler.
 */
export interface DirectRoute {
  prefix: string;
  serve(request: GatewayRequest): Promise<GatewayReply>;
}

/**
 * Request bodies up to this declared Content-Length are read whole with node APIs and handed over as
 * a Buffer: bridging a node stream to a web stream costs more than the bytes themselves.
 */
const SMALL_BODY_BYTES = 64 * 1024;
/** Responses up to this declared Content-Length are written with one `res.end(bytes)`, never chunk by chunk. */
const SMALL_RESPONSE_BYTES = 64 * 1024;

/** Node already lower-cased names and joined repeats; only `set-cookie` can arrive as a list. */
function webHeaders(req: IncomingMessage): HeadersInit {
  const raw = req.headers;
  for (const name in raw) {
    if (Array.isArray(raw[name])) {
      const headers = new Headers();
      for (const [key, value] of Object.entries(raw)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) headers.append(key, v);
        else headers.set(key, value);
      }
      return headers;
    }
  }
  return raw as Record<string, string>;
}

/** The request's signal: aborted when the client goes away before the response is finished. */
function clientSignal(res: ServerResponse | undefined): AbortSignal {
  const controller = new AbortController();
  // Listening on the response, not the keep-alive socket, adds one listener per request.
  res?.once("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** A Host header node would accept but a URL would not (spaces, slashes, ...) is ignored, never fatal. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** A host name (253) with a port, in brackets or not. */
const MAX_HOST_LENGTH = 300;
/** Longest request target read; the platform's paths and queries are far shorter. */
const MAX_TARGET_LENGTH = 8192;
/** Request targets a URL parser leaves exactly as they are: no dot segments, escapes or backslashes to resolve. */
const PLAIN_TARGET = /^\/[A-Za-z0-9_~/?&=-]*$/;

/**
 * The absolute URL of a request, as a web Request would see it (dot segments resolved), or
 * undefined when the target cannot be one (the caller answers 400). Plain targets skip the parser.
 * Only the path and query matter to the handlers: every upstream address comes from the store.
 */
export function requestUrl(req: IncomingMessage, fallbackOrigin: string): string | undefined {
  const hostHeader = req.headers.host;
  const origin =
    hostHeader !== undefined && hostHeader.length <= MAX_HOST_LENGTH && HOST_HEADER.test(hostHeader) ? `http://${hostHeader}` : fallbackOrigin;
  const target = req.url ?? "/";
  if (target.length > MAX_TARGET_LENGTH) return undefined;
  if (PLAIN_TARGET.test(target)) return origin + target;
  if (!target.startsWith("/")) {
    // Absolute form (RFC 9112 3.2.2) names its own origin; anything else (e.g. "*") is no URL.
    try {
      const absolute = new URL(target);
      return absolute.protocol === "http:" || absolute.protocol === "https:" ? absolute.href : undefined;
    } catch {
      return undefined;
    }
  }
  try {
    // Concatenated, not resolved against the origin: "//x" is a path here, not another host.
    return new URL(origin + target).href;
  } catch {
    return undefined;
  }
}

function webRequest(req: IncomingMessage, url: string, res: ServerResponse | undefined, body: BodyInit | undefined): Request {
  const method = req.method ?? "GET";
  return new Request(url, {
    method,
    headers: webHeaders(req),
    signal: clientSignal(res),
    ...(body === undefined ? {} : { body, duplex: "half" }),
  } as RequestInit);
}

/**
 * A request body as a web stream, pulled chunk by chunk with backpressure (node's stream is paused
 * while nobody reads). Unlike `Readable.toWeb`, a chunk node still delivers after the reader cancelled
 * is dropped rather than thrown as an uncaught "Controller is already closed", which ended the
 * process. Cancelling (a body refused at its size limit, a client gone) stops reading and closes the
 * connection once the answer is written: the unread rest must not be taken for the next request, and
 * a client still uploading learns at once that nobody reads.
 */
export function requestBodyStream(req: IncomingMessage, res?: ServerResponse): ReadableStream<Uint8Array> {
  let open = true;
  let listening = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const onData = (chunk: Buffer) => {
    if (!open) return;
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  const onEnd = () => {
    if (!open) return;
    open = false;
    controller.close();
  };
  const onError = (error: Error) => {
    if (!open) return;
    open = false;
    controller.error(error);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        // Listening only once someone reads leaves an unread body to node, which discards it after the answer.
        if (!listening) {
          listening = true;
          req.on("data", onData);
          req.once("end", onEnd);
          req.once("error", onError);
        }
        req.resume();
      },
      cancel() {
        open = false;
        req.off("data", onData);
        req.pause();
        if (res === undefined || res.headersSent) req.destroy();
        else closeAfterAnswer(req, res);
      },
    },
    { highWaterMark: 1 },
  );
}

/** How long a connection whose request was left unread keeps draining after its answer. */
const LINGER_MS = 2_000;

/**
 * Closes the connection once the answer is written, without losing the answer: the client may still
 * be uploading the body nobody reads, and closing a socket with unread data makes the kernel reset the
 * connection, which on Linux also discards whatever the client had received and not yet read (the
 * answer). So the server half-closes after the answer, drops what still arrives, and closes when the
 * client does or after LINGER_MS (nginx's "lingering close").
 */
function closeAfterAnswer(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  const socket = req.socket;
  // node:http ends a non-keep-alive connection with destroySoon() once the answer is written.
  socket.destroySoon = () => {
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    socket.removeAllListeners("data");
    socket.on("data", ignore);
    socket.resume();
  };
}

/** Turns a node:http request into a web Request; the body streams, it is not buffered. */
export function toWebRequest(req: IncomingMessage, url: string, res?: ServerResponse): Request {
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return webRequest(req, url, res, hasBody ? requestBodyStream(req, res) : undefined);
}

/** The declared body length when the body is small enough to read whole first, else undefined. */
function smallBodyLength(req: IncomingMessage): number | undefined {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  const declared = req.headers["content-length"];
  if (declared === undefined || req.headers["transfer-encoding"] !== undefined || !/^\d{1,6}$/.test(declared)) return undefined;
  const length = Number(declared);
  return length <= SMALL_BODY_BYTES ? length : undefined;
}

/**
 * Reads a body node's parser already bounds to its Content-Length. A client that leaves first never
 * gets a response: `done` is simply not called and the socket is gone.
 */
function readSmallBody(req: IncomingMessage, length: number, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.once("end", () => {
    const first = chunks[0];
    done(chunks.length === 1 && first !== undefined ? first : Buffer.concat(chunks, length));
  });
}

function nodeHeaders(response: Response): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  return headers;
}

/** Writes a web Response to node:http, streaming chunks as they come and stopping if the client leaves. */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, nodeHeaders(response));
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once("close", () => {
    reader.cancel().catch(() => undefined);
  });
  try {
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (declared <= SMALL_RESPONSE_BYTES) {
      // A small body of known length is usually one chunk: look one read ahead and send it with the end.
      const first = await reader.read();
      if (first.done) {
        res.end();
        return;
      }
      const next = await reader.read();
      if (next.done) {
        res.end(first.value);
        return;
      }
      res.write(first.value);
      if (!res.write(next.value)) await drained(res);
    }
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/** A GatewayRequest over node's request: headers read in place, nothing copied. */
class NodeGatewayRequest implements GatewayRequest {
  readonly method: string;
  readonly signal: AbortSignal;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse,
    readonly url: string,
    readonly body: GatewayRequest["body"],
  ) {
    this.method = req.method ?? "GET";
    this.signal = clientSignal(res);
  }

  header(name: string): string | null {
    const value = this.req.headers[name];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(", ") : value;
  }
}

/** Writes a GatewayReply: bytes in one `end`, a chunk source chunk by chunk with backpressure. */
export async function writeGatewayReply(reply: GatewayReply, res: ServerResponse): Promise<void> {
  const { body } = reply;
  if (body === null) {
    res.writeHead(reply.status, reply.headers);
    res.end();
    return;
  }
  if (body instanceof Uint8Array) {
    const headers =
      reply.headers["content-length"] === undefined ? { ...reply.headers, "content-length": String(body.byteLength) } : reply.headers;
    res.writeHead(reply.status, headers);
    res.end(body);
    return;
  }
  res.writeHead(reply.status, reply.headers);
  const onClose = () => {
    if (!res.writableFinished) body.cancel(new Error("the client went away"));
  };
  res.once("close", onClose);
  try {
    for (;;) {
      const chunk = await body.next();
      if (chunk === undefined) break;
      if (res.destroyed) return;
      if (!res.write(chunk)) await drained(res);
    }
    res.end();
  } catch {
    // The replica's answer broke off after the status was sent: closing the connection tells the client.
    res.destroy();
  }
}

const INTERNAL_ERROR_BODY = JSON.stringify({ error: { code: "internal", message: "Internal error" } });

/** Runs a handler's whole answer; a failure the handler did not turn into a response is a 500. */
function answer(res: ServerResponse, work: Promise<void>): void {
  work.catch((error: unknown) => lastResort(res, error));
}

/**
 * The last resort for one request: whatever escaped its handler (thrown synchronously or rejected)
 * is logged and answered 500, or the connection is closed when the answer had already started, so
 * one request never takes the process down.
 */
function lastResort(res: ServerResponse, error: unknown): void {
  console.error("local runtime: unhandled error", error);
  try {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(500, { "content-type": "application/json", connection: "close" });
    res.end(INTERNAL_ERROR_BODY);
  } catch {
    res.destroy();
  }
}

/** An error answer written by the runtime itself, before any handler ran; the connection is closed. */
function refuse(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", connection: "close", ...headers });
  res.end(JSON.stringify({ error: { code, message, details: [] } }));
}

/**
 * Methods the platform's routes can answer. A web Request cannot even be built for some others
 * (`new Request` throws on TRACE, TRACK and CONNECT), so they are refused here with a 501.
 */
const IMPLEMENTED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

function ignore(): void {}

function dispatchDirect(route: DirectRoute, request: GatewayRequest, res: ServerResponse): void {
  answer(res, route.serve(request).then((reply) => writeGatewayReply(reply, res)));
}

function serveDirect(route: DirectRoute, req: IncomingMessage, res: ServerResponse, url: string): void {
  const length = smallBodyLength(req);
  if (length !== undefined) {
    readSmallBody(req, length, (body) => {
      try {
        dispatchDirect(route, new NodeGatewayRequest(req, res, url, body), res);
      } catch (error) {
        lastResort(res, error);
      }
    });
    return;
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const body = hasBody ? requestBodyStream(req, res) : null;
  dispatchDirect(route, new NodeGatewayRequest(req, res, url, body), res);
}

function dispatch(handler: FetchHandler, request: Request, res: ServerResponse): void {
  answer(res, handler(request).then((response) => writeWebResponse(response, res)));
}

export interface HttpServerHandle {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Serves a fetch handler on node:http: the local runtime of every HTTP surface. */
export async function serve(
  handler: FetchHandler,
  options: { port: number; host?: string; direct?: DirectRoute },
): Promise<HttpServerHandle> {
  const host = options.host ?? "127.0.0.1";
  const { direct } = options;
  let fallbackOrigin = `http://${host}:${options.port}`;
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    // A client that leaves mid-body makes node emit "error" on the request; unheard, it would be fatal.
    req.on("error", ignore);
    if (!IMPLEMENTED_METHODS.has(req.method ?? "")) {
      refuse(res, 501, "not_implemented", `The method ${String(req.method).slice(0, 32)} is not implemented.`, {
        allow: [...IMPLEMENTED_METHODS].join(", "),
      });
      return;
    }
    const url = requestUrl(req, fallbackOrigin);
    if (url === undefined) {
      refuse(res, 400, "bad_request", "The request target is not a valid URL path.");
      return;
    }
    if (direct !== undefined && req.url?.startsWith(direct.prefix)) {
      serveDirect(direct, req, res, url);
      return;
    }
    const length = smallBodyLength(req);
    if (length === undefined) {
      dispatch(handler, toWebRequest(req, url, res), res);
      return;
    }
    readSmallBody(req, length, (body) => {
      try {
        dispatch(handler, webRequest(req, url, res, body as Uint8Array<ArrayBuffer>), res);
      } catch (error) {
        lastResort(res, error);
      }
    });
  };
  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (error) {
      lastResort(res, error);
    }
  });
  // CONNECT never reaches the request callback: node hands over the raw socket, closed unanswered by default.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", ignore);
    socket.end(
      `HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${JSON.stringify({
        error: { code: "not_implemented", message: "The method CONNECT is not implemented.", details: [] },
      })}`,
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  fallbackOrigin = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
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
