import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the fake AWS endpoint received it. */
export interface ReceivedCall {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: object | string | Buffer;
  /** Send the headers (announcing the whole body) and half the body, then: wait forever, or drop the connection. */
  halfway?: "stall" | "drop";
}

/** What to do with a request: answer it, never answer (the connection stays open), or drop the connection. */
export type Answer = Reply | "never" | "drop";

export interface LoopbackAws {
  /** `http://127.0.0.1:<port>`: a port the system chose. */
  endpoint: string;
  calls: ReceivedCall[];
  /** TCP connections accepted so far. */
  connections: () => number;
  close: () => Promise<void>;
}

/**
 * A fake AWS JSON-protocol endpoint on loopback: records every request and answers with what
 * `answer` returns for it (`index` counts requests from 0).
 */
export async function startLoopbackAws(
  answer: (call: ReceivedCall, index: number) => Answer = () => ({ body: {} }),
): Promise<LoopbackAws> {
  const calls: ReceivedCall[] = [];
  let connections = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const call: ReceivedCall = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      calls.push(call);
      const reply = answer(call, calls.length - 1);
      if (reply === "never") return;
      if (reply === "drop") {
        request.socket.destroy();
        return;
      }
      const body =
        reply.body === undefined
          ? ""
          : typeof reply.body === "string" || Buffer.isBuffer(reply.body)
            ? reply.body
            : JSON.stringify(reply.body);
      // The client may drop a connection mid-answer (a refused oversized answer): not an error here.
      response.on("error", () => {});
      response.writeHead(reply.status ?? 200, {
        "content-type": "application/x-amz-json-1.0",
        "content-length": String(Buffer.byteLength(body)),
        ...reply.headers,
      });
      if (reply.halfway === undefined) {
        response.end(body);
        return;
      }
      response.write(Buffer.from(body).subarray(0, Math.floor(Buffer.byteLength(body) / 2)));
      if (reply.halfway === "drop") setTimeout(() => request.socket.destroy(), 20);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (it was bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
