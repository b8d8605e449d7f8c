import type { AgentOptions, ClientRequest, ClientRequestArgs } from "node:http";
import { isIP } from "node:net";
import { type Duplex, Readable } from "node:stream";
import tls from "node:tls";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import type { buildConnector, Dispatcher, Agent as UndiciAgent } from "undici";
import { type ChunkSource, chunkSourceOf } from "./exchange";
import { nodeHttp as http } from "../platform/builtins";
import { drained } from "./node-streams";

/** One request to a replica, already fully decided by the gateway (address, path, headers). */
export interface UpstreamRequest {
  host: string;
  port: number;
  /** A constant route path from ROUTE_DEFINITIONS. */
  path: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | ReadableStream<Uint8Array> | undefined;
  /** Aborting it cancels the request and its response body (client gone, timeout). */
  signal: AbortSignal;
  connectTimeoutMs: number;
  /**
   * Set for a replica behind its worker's TLS front: connect with TLS and accept only the
   * certificate with this SHA-256 (64 lowercase hex characters; no CA chain, no host name check).
   * A different certificate fails the connection before any byte of the request is sent.
   */
  certificateSha256?: string | undefined;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Cancelling it closes the connection, so the replica sees the request abandoned. */
  body: ChunkSource | null;
}

/**
 * How the gateway talks to replicas. Rejects when no response arrived (connection refused or
 * reset, connect timeout, abort); never follows redirects.
 */
export interface UpstreamTransport {
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close?(): void;
}

export interface NodeHttpTransportOptions {
  /** Concurrent connections per replica address. Default 256. */
  maxSockets?: number;
  /** Idle keep-alive connections are closed after this, below uvicorn's 5 s keep-alive. Default 4000. */
  freeSocketTimeoutMs?: number;
}

/** The replica's front presented another certificate than the one its worker reported. */
export const CERTIFICATE_MISMATCH = "UPSTREAM_CERTIFICATE_MISMATCH";
/** The transport cannot pin certificates, so it refuses replicas behind a TLS front. */
export const TLS_UNSUPPORTED = "UPSTREAM_TLS_UNSUPPORTED";

/** Undefined when the TLS peer presented exactly the pinned certificate; otherwise why not. */
export function certificateMismatch(socket: tls.TLSSocket, expectedSha256: string): Error | undefined {
  const presented = socket.getPeerCertificate()?.fingerprint256;
  const actual = typeof presented === "string" && presented !== "" ? presented.replaceAll(":", "").toLowerCase() : undefined;
  if (actual === expectedSha256) return undefined;
  return Object.assign(
    new Error(`the replica presented certificate sha256 ${actual ?? "(none)"}, not the pinned ${expectedSha256}; refusing to send the request`),
    { code: CERTIFICATE_MISMATCH },
  );
}

function connectTimeoutError(ms: number): Error {
  return Object.assign(new Error(`no connection to the replica within ${ms} ms`), { code: "UPSTREAM_CONNECT_TIMEOUT" });
}

let undiciModule: Promise<typeof import("undici")> | undefined;
/** undici loads on the first proxied request: everything else that imports core (SDK, control API) skips its ~60 ms load. */
function loadUndici(): Promise<typeof import("undici")> {
  undiciModule ??= import("undici");
  return undiciModule;
}

export interface UndiciTransportOptions {
  /** Concurrent connections per replica address. Default 256. */
  connections?: number;
  /** Idle keep-alive connections are closed after this, below uvicorn's 5 s keep-alive. Default 4000. */
  keepAliveTimeoutMs?: number;
}

/** undici's connection failures, in the words the gateway's failover understands. */
function upstreamError(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === "UND_ERR_CONNECT_TIMEOUT") return Object.assign(new Error((error as Error).message), { code: "UPSTREAM_CONNECT_TIMEOUT", cause: error });
  return error;
}

/**
 * The default transport: undici's connection pools (the engine behind Node's fetch, used through
 * its lower-level request API). Next to node:http it spends less CPU per proxied request
 * (docs/benchmarks.md). Redirects are never followed; time limits are the gateway's own (undici's
 * header and body timeouts are off), except connecting, bounded by `connectTimeoutMs`.
 */
export function undiciTransport(options: UndiciTransportOptions = {}): UpstreamTransport {
  // One agent per connect timeout in use (in practice one) and pinned certificate (one per worker
  // with a front): undici takes both per agent, not per request.
  const agents = new Map<string, UndiciAgent>();
  let closed = false;
  // Start loading now, in the background: the first request should not wait for it.
  loadUndici().catch(() => undefined);
  const agentFor = async (key: string, connectTimeoutMs: number, certificateSha256: string | undefined): Promise<UndiciAgent> => {
    let agent = agents.get(key);
    if (agent === undefined) {
      const undici = await loadUndici();
      if (closed) throw new Error("the upstream transport is closed");
      agent = agents.get(key) ?? new undici.Agent({
        connections: options.connections ?? 256,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 4000,
        keepAliveMaxTimeout: options.keepAliveTimeoutMs ?? 4000,
        connectTimeout: connectTimeoutMs,
        headersTimeout: 0,
        bodyTimeout: 0,
        ...(certificateSha256 === undefined
          ? {}
          : { connect: pinnedConnector(undici.buildConnector, connectTimeoutMs, certificateSha256) }),
      });
      agents.set(key, agent);
    }
    return agent;
  };
  return {
    send: async (upstream) => {
      let response: Dispatcher.ResponseData;
      try {
        const pinned = upstream.certificateSha256;
        const key = pinned === undefined ? String(upstream.connectTimeoutMs) : `${upstream.connectTimeoutMs}|${pinned}`;
        const agent = agents.get(key) ?? (await agentFor(key, upstream.connectTimeoutMs, pinned));
        response = await agent.request({
          origin: `${pinned === undefined ? "http" : "https"}://${upstream.host}:${upstream.port}`,
          path: upstream.path,
          method: upstream.method as "GET" | "POST",
          headers: upstream.headers,
          body:
            upstream.body === undefined || upstream.body instanceof Uint8Array
              ? (upstream.body ?? null)
              : Readable.fromWeb(upstream.body as NodeWebReadableStream<Uint8Array>),
          signal: upstream.signal,
        });
      } catch (error) {
        throw upstreamError(error);
      }
      const bodyless = upstream.method === "HEAD" || response.statusCode === 204 || response.statusCode === 304;
      if (bodyless) response.body.resume();
      return {
        status: response.statusCode,
        headers: response.headers,
        body: bodyless ? null : new ReadableChunkSource(response.body),
      };
    },
    close: () => {
      closed = true;
      for (const agent of agents.values()) void agent.destroy().catch(() => undefined);
      agents.clear();
    },
  };
}

/**
 * undici's own TLS connector (connect timeout included), checking the peer's certificate once the
 * handshake is done and before undici writes anything. No CA chain is consulted (the certificate is
 * self-signed); sessions are not resumed, so every connection shows its certificate.
 */
function pinnedConnector(build: typeof buildConnector, timeoutMs: number, certificateSha256: string): buildConnector.connector {
  const connect = build({ rejectUnauthorized: false, timeout: timeoutMs, maxCachedSessions: 0, ALPNProtocols: ["http/1.1"] });
  return (connectOptions, callback) =>
    connect(connectOptions, (error, socket) => {
      if (error !== null) {
        callback(upstreamError(error) as Error, null);
        return;
      }
      const mismatch = certificateMismatch(socket as tls.TLSSocket, certificateSha256);
      if (mismatch === undefined) {
        callback(null, socket);
        return;
      }
      socket.destroy();
      callback(mismatch, null);
    });
}

type PinnedConnectOptions = ClientRequestArgs & { connectTimeoutMs?: number };

/**
 * A keep-alive agent whose connections are TLS to one pinned certificate. The socket reaches the
 * request only after the handshake and the check (Node's agent accepts a connection handed over
 * through the callback), so a wrong certificate never sees a byte of the request.
 */
class PinnedTlsAgent extends http.Agent {
  constructor(
    private readonly certificateSha256: string,
    options: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: PinnedConnectOptions, callback?: (error: Error | null, socket: Duplex) => void): undefined {
    const host = options.host ?? "localhost";
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const socket = tls.connect({
      host,
      port: Number(options.port),
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
      ...(isIP(host) === 0 ? { servername: host } : {}),
    });
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) callback?.(null, socket);
      else {
        socket.destroy();
        callback?.(error, socket);
      }
    };
    const timer = setTimeout(() => settle(connectTimeoutError(timeoutMs)), timeoutMs);
    timer.unref();
    socket.once("secureConnect", () => settle(certificateMismatch(socket, this.certificateSha256) ?? null));
    socket.once("error", (error) => settle(error));
    return undefined;
  }
}

/** The same contract on node:http with a keep-alive agent (no dependency beyond Node itself). */
export function nodeHttpTransport(options: NodeHttpTransportOptions = {}): UpstreamTransport {
  const agentOptions: AgentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    maxFreeSockets: 64,
    timeout: options.freeSocketTimeoutMs ?? 4000,
    scheduling: "lifo",
  };
  const agent = new http.Agent(agentOptions);
  // One agent per pinned certificate: a connection verified for one certificate is never reused for another.
  const pinnedAgents = new Map<string, PinnedTlsAgent>();
  const pinnedAgent = (sha256: string): PinnedTlsAgent => {
    let pinned = pinnedAgents.get(sha256);
    if (pinned === undefined) {
      pinned = new PinnedTlsAgent(sha256, agentOptions);
      pinnedAgents.set(sha256, pinned);
    }
    return pinned;
  };
  return {
    send: (upstream) =>
      new Promise<UpstreamResponse>((resolve, reject) => {
        const { signal } = upstream;
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const pinned = upstream.certificateSha256;
        const request = http.request({
          host: upstream.host,
          port: upstream.port,
          path: upstream.path,
          method: upstream.method,
          headers:
            upstream.body instanceof Uint8Array
              ? { ...upstream.headers, "content-length": String(upstream.body.byteLength) }
              : upstream.headers,
          agent: pinned === undefined ? agent : pinnedAgent(pinned),
          // Read by PinnedTlsAgent, whose sockets arrive connected (the timer below never starts for them).
          ...(pinned === undefined ? {} : { connectTimeoutMs: upstream.connectTimeoutMs }),
        } as PinnedConnectOptions);
        let responded = false;
        let connectTimer: NodeJS.Timeout | undefined;
        const onAbort = () => request.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        signal.addEventListener("abort", onAbort, { once: true });
        request.once("socket", (socket) => {
          if (!socket.connecting) return;
          connectTimer = setTimeout(() => request.destroy(connectTimeoutError(upstream.connectTimeoutMs)), upstream.connectTimeoutMs);
          connectTimer.unref();
          socket.once("connect", () => clearTimeout(connectTimer));
        });
        request.on("error", (error) => {
          clearTimeout(connectTimer);
          if (responded) return;
          signal.removeEventListener("abort", onAbort);
          reject(Object.assign(error, { reusedSocket: request.reusedSocket }));
        });
        request.once("response", (response) => {
          clearTimeout(connectTimer);
          responded = true;
          response.once("close", () => signal.removeEventListener("abort", onAbort));
          const bodyless = upstream.method === "HEAD" || response.statusCode === 204 || response.statusCode === 304;
          if (bodyless) response.resume();
          resolve({
            status: response.statusCode ?? 502,
            headers: response.headers,
            body: bodyless ? null : new ReadableChunkSource(response),
          });
        });
        writeBody(request, upstream.body);
      }),
    close: () => {
      agent.destroy();
      for (const pinned of pinnedAgents.values()) pinned.destroy();
      pinnedAgents.clear();
    },
  };
}

function writeBody(request: ClientRequest, body: UpstreamRequest["body"]): void {
  if (body === undefined) {
    request.end();
    return;
  }
  if (body instanceof Uint8Array) {
    request.end(body);
    return;
  }
  const reader = body.getReader();
  const pump = async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (request.destroyed) return;
      if (!request.write(value)) await drained(request);
    }
    request.end();
  };
  pump().catch((error: unknown) => {
    request.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  request.once("close", () => {
    reader.cancel().catch(() => undefined);
  });
}

/** Chunks buffered ahead of the reader before the replica's response is paused (backpressure). */
const RESPONSE_HIGH_WATER_BYTES = 64 * 1024;

/**
 * The response body as a pull source, read straight from node's stream (no web stream in between):
 * chunks queue up to a high-water mark, then the response pauses until they are read. Cancelling
 * destroys the response, which closes the socket: the replica sees the client leave. A class with
 * methods rather than closures, because one is made per proxied request.
 */
class ReadableChunkSource implements ChunkSource {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiting: { resolve: (chunk: Uint8Array | undefined) => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly response: Readable) {
    response.on("data", (chunk: Buffer) => this.onData(chunk));
    response.once("end", () => this.onEnd());
    response.once("close", () => this.onClose());
    // Without a listener a stream error would be thrown at the process; "close" follows and reports it.
    response.on("error", (error: Error) => {
      this.failure ??= error;
    });
  }

  next(): Promise<Uint8Array | undefined> {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.queued -= chunk.byteLength;
      if (this.queued < RESPONSE_HIGH_WATER_BYTES && this.response.isPaused()) this.response.resume();
      return Promise.resolve(chunk);
    }
    if (this.ended) return Promise.resolve(undefined);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  cancel(): void {
    if (this.ended) return;
    this.failure = Object.assign(new Error("the response was cancelled"), { code: "ECANCELLED" });
    this.response.destroy();
  }

  private onData(chunk: Buffer): void {
    const reader = this.waiting;
    if (reader !== undefined) {
      this.waiting = undefined;
      reader.resolve(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (this.queued >= RESPONSE_HIGH_WATER_BYTES) this.response.pause();
  }

  private onEnd(): void {
    this.ended = true;
    const reader = this.waiting;
    this.waiting = undefined;
    reader?.resolve(undefined);
  }

  private onClose(): void {
    if (this.ended) return;
    this.failure ??= Object.assign(new Error("the replica closed the response early"), { code: "ECONNRESET" });
    const reader = this.waiting;
    this.waiting = undefined;
    reader?.reject(this.failure);
  }
}

/**
 * The same contract on the platform's fetch (undici), for runtimes without node:http: body
 * streamed with `duplex: "half"`, `redirect: "manual"`, the abort signal passed through. fetch has
 * no standard way to pin a certificate, so a replica behind a TLS front is refused (code
 * UPSTREAM_TLS_UNSUPPORTED) rather than reached with the usual CA checks or none.
 */
export function fetchTransport(fetchImpl: typeof fetch = fetch): UpstreamTransport {
  return {
    send: async (upstream) => {
      if (upstream.certificateSha256 !== undefined) {
        throw Object.assign(
          new Error(
            "the fetch transport cannot pin a replica's certificate, and this replica sits behind its worker's TLS front; " +
              "serve the gateway with undiciTransport or nodeHttpTransport",
          ),
          { code: TLS_UNSUPPORTED },
        );
      }
      const response = await fetchImpl(`http://${upstream.host}:${upstream.port}${upstream.path}`, {
        method: upstream.method,
        headers: upstream.headers,
        body: upstream.body,
        signal: upstream.signal,
        redirect: "manual",
        duplex: "half",
      } as RequestInit);
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name] = value;
      });
      if (headers["content-encoding"] !== undefined) {
        // fetch decoded the body: the original encoding and length no longer describe it.
        delete headers["content-encoding"];
        delete headers["content-length"];
      }
      return { status: response.status, headers, body: response.body === null ? null : chunkSourceOf(response.body) };
    },
  };
}
