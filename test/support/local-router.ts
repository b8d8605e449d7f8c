import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RouterTarget, routeForPath } from "@inferencekey/aws";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { invokeStreaming, isStreamingHandler, lambdaContext } from "./lambda-streaming";

/**
 * A local stand-in for the deployment's one public entry (infra/router.ts): CloudFront's viewer
 * request function (the exact code infra/ gives the Router, run here on a CloudFront-shaped event),
 * the Router's path routes (`routeForPath`, the same table), and each Lambda Function URL's
 * request and response shapes, including Lambda's own 413 for payloads above 6 MB that carried
 * no Content-Length for the edge to check. The handlers are the real functions/* entries.
 */

/** Lambda refuses invocation payloads above this (its own 413, not ours). */
const LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024;

export type ViewerRequestResult =
  | { kind: "request"; uri: string; headers: Record<string, string> }
  | { kind: "response"; status: number; headers: Record<string, string>; body: string };

/**
 * Runs viewer-request code as the Router's CloudFront function runs it (its body, then `return
 * event.request`), on an event of CloudFront's shape (headers as `{name: {value}}`).
 */
export async function runViewerRequest(
  injection: string,
  request: { method: string; uri: string; headers: Record<string, string> },
  requestId: string = randomBytes(12).toString("base64url"),
): Promise<ViewerRequestResult> {
  const event = {
    version: "1.0",
    context: { eventType: "viewer-request", requestId },
    request: {
      method: request.method,
      uri: request.uri,
      querystring: {},
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), { value }])),
      cookies: {},
    },
  };
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (event: unknown) => Promise<unknown>;
  const result = (await new AsyncFunction("event", `${injection}\nreturn event.request;`)(event)) as {
    statusCode?: number;
    uri?: string;
    headers: Record<string, { value: string }>;
    body?: { data: string };
  };
  const headers = Object.fromEntries(Object.entries(result.headers).map(([name, header]) => [name, header.value]));
  if (result.statusCode !== undefined) return { kind: "response", status: result.statusCode, headers, body: result.body?.data ?? "" };
  return { kind: "request", uri: result.uri ?? request.uri, headers };
}

type BufferedHandler = (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalRouterOptions {
  /** The Router's viewer-request code (`routerViewerRequestInjection(...)`). */
  injection: string;
  /** The Lambda handlers behind each route: buffered, or wrapped by `awslambda.streamifyResponse`. */
  targets: Record<RouterTarget, unknown>;
}

export interface LocalRouter {
  /** The base URL (INFERENCEKEY_BASE_URL), e.g. http://127.0.0.1:PORT. */
  url: string;
  close(): Promise<void>;
}

const TEXTUAL = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/;

/** A Function URL event as Lambda builds it from the request CloudFront forwarded. */
function functionUrlEvent(method: string, rawPath: string, rawQueryString: string, headers: Record<string, string>, body: Buffer, requestId: string): APIGatewayProxyEventV2 {
  const { cookie, ...rest } = headers;
  const textual = TEXTUAL.test(headers["content-type"] ?? "");
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: rest,
    ...(cookie ? { cookies: cookie.split(/;\s*/) } : {}),
    requestContext: {
      accountId: "anonymous",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "local",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body.length > 0 ? { body: textual ? body.toString("utf8") : body.toString("base64"), isBase64Encoded: !textual } : { isBase64Encoded: false }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

function writeBuffered(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies?.length) headers["set-cookie"] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? "base64" : "utf8"));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the local router on 127.0.0.1 (a free port). */
export async function startLocalRouter(options: LocalRouterOptions): Promise<LocalRouter> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const incoming: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) incoming[name] = Array.isArray(value) ? value.join(",") : value;
      }
      const edge = await runViewerRequest(options.injection, { method: req.method ?? "GET", uri: url.pathname, headers: incoming });
      if (edge.kind === "response") {
        res.writeHead(edge.status, edge.headers).end(edge.body);
        return;
      }
      const target = routeForPath(edge.uri);
      if (target === undefined) {
        sendJson(res, 404, { message: "no route (CloudFront's default origin)" });
        return;
      }
      const body = await readBody(req);
      const headers = { ...edge.headers, "x-forwarded-host": edge.headers.host ?? "" };
      const event = functionUrlEvent(req.method ?? "GET", edge.uri, url.search.slice(1), headers, body, randomBytes(8).toString("hex"));
      if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_PAYLOAD_LIMIT) {
        sendJson(res, 413, { message: "Request must be smaller than 6291456 bytes for the InvokeFunction operation" });
        return;
      }
      const handler = options.targets[target];
      const context = lambdaContext(target);
      if (isStreamingHandler(handler)) {
        await invokeStreaming(handler, event, context, {
          head: (prelude) => {
            const out: Record<string, string | string[]> = { ...(prelude.headers ?? {}) };
            if (prelude.cookies?.length) out["set-cookie"] = prelude.cookies;
            res.writeHead(prelude.statusCode ?? 200, out);
            res.flushHeaders();
          },
          chunk: (bytes) => res.write(bytes),
          end: () => res.end(),
        });
      } else {
        writeBuffered(res, await (handler as BufferedHandler)(event, context));
      }
    })().catch((error: unknown) => {
      // What Lambda answers when a function fails: 502, nothing of the error.
      if (!res.headersSent) sendJson(res, 502, { message: "Internal Server Error" });
      else res.destroy(error instanceof Error ? error : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
