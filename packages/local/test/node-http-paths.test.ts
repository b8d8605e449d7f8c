import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type FetchHandler, type HttpServerHandle, serve } from "../src/node-http";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(url: string, options: { method?: string; headers?: Record<string, string | number>; chunks?: string[] } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "POST", headers: options.headers ?? {} }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (chunk: Buffer) => parts.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    req.setTimeout(5000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe("node:http runtime request and response paths", () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(handler: FetchHandler): Promise<string> {
    server = await serve(handler, { port: 0 });
    return server.url;
  }

  const echo: FetchHandler = async (req) => {
    const text = await req.text();
    return new Response(JSON.stringify({ method: req.method, url: req.url, length: text.length, text, type: req.headers.get("content-type") }), {
      headers: { "content-type": "application/json" },
    });
  };

  it("hands a small body with a declared length to the handler whole, even when it arrives in pieces", async () => {
    // Prepare
    const url = await start(echo);
    const parts = ['{"a":', '"b",', '"c":1}'];

    // Act
    const answer = await send(`${url}/x?y=1`, {
      headers: { "content-type": "application/json", "content-length": parts.join("").length },
      chunks: parts,
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      method: "POST",
      url: `${url}/x?y=1`,
      length: 15,
      text: '{"a":"b","c":1}',
      type: "application/json",
    });
  });

  it("streams bodies without a declared length and bodies over the small limit", async () => {
    // Prepare
    const url = await start(echo);
    const large = "x".repeat(200 * 1024);

    // Act
    const chunked = await send(url, { chunks: ["one ", "two"] });
    const big = await send(url, { headers: { "content-length": large.length }, chunks: [large] });

    // Assess
    expect(JSON.parse(chunked.body)).toMatchObject({ length: 7, text: "one two" });
    expect(JSON.parse(big.body)).toMatchObject({ length: large.length });
  });

  it("gives an empty declared body as an empty body, and GET none", async () => {
    // Prepare
    const url = await start(async (req) => new Response(`${req.method} ${req.body === null ? "none" : (await req.text()).length}`));

    // Act
    const post = await send(url, { headers: { "content-length": 0 } });
    const get = await send(url, { method: "GET" });

    // Assess
    expect(post.body).toBe("POST 0");
    expect(get.body).toBe("GET none");
  });

  it("writes a small response of known length whole, with its headers and cookies", async () => {
    // Prepare
    const payload = JSON.stringify({ ok: true, filler: "y".repeat(1000) });
    const headers = new Headers({ "content-type": "application/json", "content-length": String(payload.length), "x-one": "1" });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    const url = await start(async () => new Response(payload, { status: 201, headers }));

    // Act
    const answer = await send(url, { method: "GET" });

    // Assess
    expect(answer.status).toBe(201);
    expect(answer.body).toBe(payload);
    expect(answer.headers["content-length"]).toBe(String(payload.length));
    expect(answer.headers["x-one"]).toBe("1");
    expect(answer.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
  });

  it("passes a known-length body that arrives in several chunks through intact", async () => {
    // Prepare
    const parts = ["alpha ", "beta ", "gamma"];
    const url = await start(async () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (const part of parts) {
            controller.enqueue(new TextEncoder().encode(part));
            await new Promise((r) => setTimeout(r, 5));
          }
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-length": String(parts.join("").length) } });
    });

    // Act
    const answer = await send(url, { method: "GET" });

    // Assess
    expect(answer.body).toBe("alpha beta gamma");
  });

  it("streams a response without a declared length chunk by chunk, before it ends", async () => {
    // Prepare
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const url = await start(async () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("data: first\n\n"));
          await gate;
          controller.enqueue(new TextEncoder().encode("data: second\n\n"));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    });

    // Act
    const first = await new Promise<{ chunk: string; rest: Promise<string> }>((resolve, reject) => {
      const req = request(url, { method: "GET" }, (res) => {
        let all = "";
        const rest = new Promise<string>((done) => res.on("end", () => done(all)));
        res.on("data", (chunk: Buffer) => {
          if (all === "") resolve({ chunk: chunk.toString(), rest });
          all += chunk.toString();
        });
      });
      req.on("error", reject);
      req.end();
    });
    release();

    // Assess
    expect(first.chunk).toBe("data: first\n\n");
    expect(await first.rest).toBe("data: first\n\ndata: second\n\n");
  });

  it("aborts request.signal when the client leaves before the response is finished", async () => {
    // Prepare
    let aborted: () => void = () => undefined;
    const sawAbort = new Promise<void>((r) => {
      aborted = r;
    });
    const url = await start(async (req) => {
      req.signal.addEventListener("abort", () => aborted());
      await req.text();
      return new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode("partial")) }));
    });

    // Act
    const req = request(url, { method: "POST", headers: { "content-length": 2 } }, (res) => {
      res.once("data", () => req.destroy());
    });
    req.on("error", () => undefined);
    req.end("hi");

    // Assess
    await expect(sawAbort).resolves.toBeUndefined();
  });

  it("never calls the handler for a client that leaves before its small body arrived", async () => {
    // Prepare
    let calls = 0;
    const url = await start(async () => {
      calls++;
      return new Response("late");
    });

    // Act
    await new Promise<void>((resolve) => {
      const req = request(url, { method: "POST", headers: { "content-length": 100 } });
      req.on("error", () => undefined);
      req.on("close", () => resolve());
      req.write("only part", () => setTimeout(() => req.destroy(), 20));
    });
    const next = await send(url, { method: "GET" });

    // Assess
    expect(calls).toBe(1);
    expect(next.body).toBe("late");
  });
});
