import { createHash, timingSafeEqual } from "node:crypto";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import type { FrontCertificate } from "./certificate";

/** Limits of the replica front; the defaults suit an OpenAI-compatible backend behind the gateway. */
export interface FrontLimits {
  /** Largest request head (request line and headers) accepted; larger gets 431. Default 16 KiB. */
  maxHeaderBytes: number;
  /** The request head must arrive within this. Default 10 s. */
  headersTimeoutMs: number;
  /** The whole request (an upload included) must arrive within this. Default 10 min. */
  requestTimeoutMs: number;
  /** A connection with no byte either way for this long is closed (both to the gateway and to the backend). Default 10 min. */
  idleTimeoutMs: number;
  /** Idle keep-alive connections are closed after this, above the gateway's 4 s. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** Concurrent connections accepted. Default 1024. */
  maxConnections: number;
}

export const DEFAULT_FRONT_LIMITS: FrontLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10 * 60_000,
  idleTimeoutMs: 10 * 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
};

export interface ReplicaFrontOptions {
  /** Where the gateway reaches the replica: the assigned address and port. */
  host: string;
  port: number;
  certificate: FrontCertificate;
  /** The replica secret every request must carry as `Authorization: Bearer <secret>`. */
  secret: string;
  /** The backend, on loopback. */
  backendPort: number;
  /** Sent to the backend in place of the caller's Authorization, for backends given a key of their own (vLLM's VLLM_API_KEY). */
  backendAuthorization?: string;
  limits?: Partial<FrontLimits>;
  log?: (line: string) => void;
}

/** Headers that describe one connection, not the message: never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function forwardable(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): http.OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ""),
  );
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || drop.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const REQUEST_DROPPED = new Set(["authorization", "host"]);
const RESPONSE_DROPPED = new Set<string>();

const digest = (value: string) => createHash("sha256").update(value).digest();

function reply(response: ServerResponse, status: number, code: string, message: string, close = false): void {
  if (response.headersSent || response.destroyed) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(close ? { connection: "close" } : {}),
  });
  response.end(body);
}

/**
 * The authenticating front of one replica: a TLS server on the replica's assigned address that
 * admits only requests carrying the replica secret (on every path), removes it, and proxies to the
 * backend on loopback, streaming both ways (uploads in, SSE out) with backpressure. A request
 * without the secret is answered 401 here and never reaches the backend.
 */
export class ReplicaFront {
  private readonly expected: Buffer;
  private readonly limits: FrontLimits;
  private readonly backendAgent: http.Agent;
  private constructor(
    private readonly options: ReplicaFrontOptions,
    private readonly server: https.Server,
  ) {
    this.expected = digest(`Bearer ${options.secret}`);
    this.limits = { ...DEFAULT_FRONT_LIMITS, ...options.limits };
    this.backendAgent = new http.Agent({ keepAlive: true, maxSockets: this.limits.maxConnections, timeout: this.limits.keepAliveTimeoutMs });
  }

  /** Listens on the assigned address; rejects when it cannot be bound (EADDRINUSE, EACCES). */
  static async listen(options: ReplicaFrontOptions): Promise<ReplicaFront> {
    const limits = { ...DEFAULT_FRONT_LIMITS, ...options.limits };
    const server = https.createServer({
      key: options.certificate.keyPem,
      cert: options.certificate.certPem,
      minVersion: "TLSv1.2",
      ALPNProtocols: ["http/1.1"],
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    });
    server.maxConnections = limits.maxConnections;
    server.timeout = limits.idleTimeoutMs;
    const front = new ReplicaFront(options, server);
    server.on("request", (request: IncomingMessage, response: ServerResponse) => front.handle(request, response));
    // A failed handshake or a malformed request concerns that connection only.
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => options.log?.(`replica front on ${options.host}:${options.port}: ${error.message}`));
    return front;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting, ends every connection (in-flight requests included); idempotent. */
  close(): Promise<void> {
    this.backendAgent.destroy();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private authorized(authorization: string | undefined): boolean {
    return authorization !== undefined && timingSafeEqual(digest(authorization), this.expected);
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    if (!this.authorized(request.headers.authorization)) {
      // The body (if any) is not read: the connection closes after the answer.
      reply(response, 401, "unauthorized", "This replica admits only the platform: send the replica secret as a bearer token.", true);
      return;
    }
    const path = request.url ?? "";
    if (!path.startsWith("/")) {
      reply(response, 400, "bad_request", "Only origin-form request targets (a path) are accepted.", true);
      return;
    }
    const headers = forwardable(request.headers, REQUEST_DROPPED);
    headers.host = `127.0.0.1:${this.options.backendPort}`;
    if (this.options.backendAuthorization !== undefined) headers.authorization = this.options.backendAuthorization;
    const upstream = http.request({
      host: "127.0.0.1",
      port: this.options.backendPort,
      method: request.method,
      path,
      headers,
      agent: this.backendAgent,
      timeout: this.limits.idleTimeoutMs,
    });
    upstream.on("timeout", () => upstream.destroy(new Error("the backend was silent for too long")));
    upstream.once("response", (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.headers, RESPONSE_DROPPED));
      // Unbuffered: each chunk (an SSE event) goes out as the backend writes it.
      response.flushHeaders();
      pipeline(answer, response, () => {});
    });
    upstream.once("error", (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ECONNREFUSED") reply(response, 502, "backend_unavailable", "The backend is not accepting connections (starting or restarting).");
      else reply(response, 502, "backend_failed", "The backend closed the connection without a complete answer.");
    });
    // The gateway went away: the backend sees its request abandoned.
    response.once("close", () => {
      if (!response.writableFinished) upstream.destroy();
    });
    pipeline(request, upstream, (error) => {
      if (error !== undefined && error !== null) upstream.destroy(error);
    });
  }
}
