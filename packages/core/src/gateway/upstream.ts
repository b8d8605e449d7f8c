import http from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import type { Dispatcher, Agent as UndiciAgent } from "undici";
import { type ChunkSource, chunkSourceOf } from "./exchange";
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
  // One agent per connect timeout in use (in practice one): undici takes it per agent, not per request.
  const agents = new Map<number, UndiciAgent>();
  let closed = false;
  // Start loading now, in the background: the first request should not wait for it.
  loadUndici().catch(() => undefined);
  const agentFor = async (connectTimeoutMs: number): Promise<UndiciAgent> => {
    let agent = agents.get(connectTimeoutMs);
    if (agent === undefined) {
      const { Agent } = await loadUndici();
      if (closed) throw new Error("the upstream transport is closed");
      agent = agents.get(connectTimeoutMs) ?? new Agent({
        connections: options.connections ?? 256,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 4000,
        keepAliveMaxTimeout: options.keepAliveTimeoutMs ?? 4000,
        connectTimeout: connectTimeoutMs,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      agents.set(connectTimeoutMs, agent);
    }
    return agent;
  };
  return {
    send: async (upstream) => {
      let response: Dispatcher.ResponseData;
      try {
        const agent = agents.get(upstream.connectTimeoutMs) ?? (await agentFor(upstream.connectTimeoutMs));
        response = await agent.request({
          origin: `http://${upstream.host}:${upstream.port}`,
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

/** The same contract on node:http with a keep-alive agent (no dependency beyond Node itself). */
export function nodeHttpTransport(options: NodeHttpTransportOptions = {}): UpstreamTransport {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    maxFreeSockets: 64,
    timeout: options.freeSocketTimeoutMs ?? 4000,
    scheduling: "lifo",
  });
  return {
    send: (upstream) =>
      new Promise<UpstreamResponse>((resolve, reject) => {
        const { signal } = upstream;
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const request = http.request({
          host: upstream.host,
          port: upstream.port,
          path: upstream.path,
          method: upstream.method,
          headers:
            upstream.body instanceof Uint8Array
              ? { ...upstream.headers, "content-length": String(upstream.body.byteLength) }
              : upstream.headers,
          agent,
        });
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
    close: () => agent.destroy(),
  };
}

function writeBody(request: http.ClientRequest, body: UpstreamRequest["body"]): void {
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
 * streamed with `duplex: "half"`, `redirect: "manual"`, the abort signal passed through.
 */
export function fetchTransport(fetchImpl: typeof fetch = fetch): UpstreamTransport {
  return {
    send: async (upstream) => {
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
