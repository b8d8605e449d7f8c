import { connect } from "node:net";
import { bootstrapAdminToken, createControlApi, MemoryStore } from "@inferencekey/core";
import { afterEach, describe, expect, it } from "vitest";
import { type FetchHandler, type HttpServerHandle, serve } from "../src/node-http";

/** Sends raw bytes and collects what comes back until the server closes the connection (or `timeoutMs`). */
function rawExchange(url: string, head: string, timeoutMs = 5000): Promise<{ text: string; closedBy: "server" | "timeout" }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedBy: "timeout" });
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closedBy: "server" });
    });
    socket.write(head);
  });
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe("node:http runtime under hostile requests", () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(handler: FetchHandler): Promise<string> {
    server = await serve(handler, { port: 0 });
    return server.url;
  }

  const ok: FetchHandler = async () => new Response("ok");

  it.each([
    { method: "TRACE", status: 501 },
    { method: "CONNECT", status: 501 },
    { method: "TRACK", status: 400 },
  ])("$method (a method a web Request refuses) gets $status and the server keeps answering", async ({ method, status }) => {
    // Prepare
    const url = await start(ok);
    const target = method === "CONNECT" ? "127.0.0.1:1" : "/v1/health";

    // Act
    const refused = await rawExchange(url, `${method} ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const after = await fetch(`${url}/v1/health`);

    // Assess
    expect(statusOf(refused.text)).toBe(status);
    if (status === 501) expect(refused.text).toContain('"code":"not_implemented"');
    expect(after.status).toBe(200);
  });

  it("a handler that throws synchronously is answered 500 and the server keeps answering", async () => {
    // Prepare: a handler that is not async, so the throw escapes into the node:http callback.
    let calls = 0;
    const url = await start(((request: Request) => {
      calls++;
      if (new URL(request.url).pathname === "/boom") throw new Error("synchronous failure");
      return Promise.resolve(new Response("ok"));
    }) as FetchHandler);

    // Act
    const boom = await fetch(`${url}/boom`);
    const after = await fetch(`${url}/fine`);

    // Assess
    expect(boom.status).toBe(500);
    expect(await boom.json()).toMatchObject({ error: { code: "internal" } });
    expect(after.status).toBe(200);
    expect(calls).toBe(2);
  });

  it("a client that leaves halfway through a small body does not take the process down", async () => {
    // Prepare
    const url = await start(ok);
    const { hostname, port } = new URL(url);

    // Act
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write("POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":");
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await fetch(`${url}/v1/health`);

    // Assess
    expect(after.status).toBe(200);
  });

  it("a target too long to be a platform path is a 400, and the server keeps answering", async () => {
    // Prepare
    const url = await start(ok);

    // Act
    const refused = await rawExchange(url, `GET /${"a".repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const after = await fetch(`${url}/v1/health`);

    // Assess
    expect(statusOf(refused.text)).toBe(400);
    expect(after.status).toBe(200);
  });

  it("a 413 closes the connection: a client that uploads before reading is not left blocked until its timeout", async () => {
    // Prepare: the control API (256 KiB body limit) and a client that declares 64 MiB and writes it all before reading.
    const ctx = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const token = (await bootstrapAdminToken(ctx))?.secret as string;
    const url = await start(createControlApi(ctx, { log: () => undefined }));
    const { hostname, port } = new URL(url);
    const total = 64 * 1024 * 1024;
    const started = performance.now();

    // Act
    const outcome = await new Promise<{ text: string; written: number; closedBy: string }>((resolve) => {
      const socket = connect(Number(port), hostname);
      let text = "";
      let written = 0;
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ text, written, closedBy: "timeout" });
      }, 10_000);
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      socket.on("error", () => undefined);
      socket.on("close", () => {
        clearTimeout(timer);
        resolve({ text, written, closedBy: "server" });
      });
      socket.write(
        `PUT /v1/projects/acme/workloads/w HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < total && !socket.destroyed) {
          written += chunk.length;
          if (!socket.write(chunk)) {
            socket.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    const elapsedMs = performance.now() - started;

    // Assess: the server closed the connection well before the client's 10 s timeout, without reading 64 MiB.
    expect(outcome.closedBy).toBe("server");
    expect(elapsedMs).toBeLessThan(5000);
    expect(outcome.written).toBeLessThan(total);
    expect(statusOf(outcome.text)).toBe(413);
    expect(outcome.text.toLowerCase()).toContain("connection: close");
  });

  it("a client that reads only after it stopped uploading still gets the 413 (no reset loses it)", async () => {
    // Prepare: the control API, and a client that uploads a chunked body for 1.5 s without reading.
    const ctx = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
    const token = (await bootstrapAdminToken(ctx))?.secret as string;
    const url = await start(createControlApi(ctx, { log: () => undefined }));
    const { hostname, port } = new URL(url);

    // Act: closing the connection at once, with the client's data still arriving, would reset it,
    // and on Linux a reset discards what the client had received and not yet read: the answer.
    const text = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), hostname);
      let received = "";
      socket.pause();
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(received));
      socket.write(
        `PUT /v1/projects/acme/workloads/w HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.concat([Buffer.from("4000\r\n"), Buffer.alloc(0x4000, 0x20), Buffer.from("\r\n")]);
      const uploading = setInterval(() => {
        if (!socket.destroyed) socket.write(chunk);
      }, 10);
      setTimeout(() => {
        clearInterval(uploading);
        socket.resume();
      }, 1500);
    });

    // Assess
    expect(statusOf(text)).toBe(413);
  });
});
