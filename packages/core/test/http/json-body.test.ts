import { describe, expect, it } from "vitest";
import {
  bootstrapAdminToken,
  createControlApi,
  jsonNestsDeeperThan,
  MAX_JSON_DEPTH,
  MemoryStore,
  type PlatformContext,
  readBodyLimited,
  readJsonBody,
  ValidationError,
} from "../../src";

const spec = { name: "Support bot", slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: "vllm" };

async function setup() {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined });
  const put = async (body: string) => {
    const response = await api(
      new Request("http://local/v1/projects/acme/workloads/support-bot", {
        method: "PUT",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body,
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  return { ctx, put };
}

/** A body of `chunks` chunks of `chunkBytes` bytes, counting how many were pulled from it. */
function countedStream(chunks: number, chunkBytes: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const chunk = new Uint8Array(chunkBytes).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) {
        controller.close();
        return;
      }
      pulled++;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

describe("JSON request bodies", () => {
  it("60k nested arrays are a 400 naming the depth limit, not a stack overflow", async () => {
    // Prepare
    const { put } = await setup();
    const nested = `{"name":"x","slug":"support-bot","model":"m","backend":"vllm","execution_policy_config":${"[".repeat(60_000)}${"]".repeat(60_000)}}`;

    // Act
    const response = await put(nested);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("validation_failed");
    expect(response.body.error.message).toContain(String(MAX_JSON_DEPTH));
    expect(response.body.error.details[0].expected).toContain(`${MAX_JSON_DEPTH} levels`);
  });

  it("nesting exactly at the limit is read; brackets inside strings do not count", () => {
    // Prepare
    const atLimit = `${"[".repeat(MAX_JSON_DEPTH)}${"]".repeat(MAX_JSON_DEPTH)}`;
    const overLimit = `${"[".repeat(MAX_JSON_DEPTH + 1)}${"]".repeat(MAX_JSON_DEPTH + 1)}`;
    const inString = JSON.stringify({ text: "[".repeat(10_000), escaped: '\\"[[[' });

    // Act / Assess
    expect(jsonNestsDeeperThan(atLimit, MAX_JSON_DEPTH)).toBe(false);
    expect(jsonNestsDeeperThan(overLimit, MAX_JSON_DEPTH)).toBe(true);
    expect(jsonNestsDeeperThan(inString, MAX_JSON_DEPTH)).toBe(false);
  });

  it.each(["__proto__", "constructor", "prototype"])("a %s key is refused by name at any depth", async (key) => {
    // Prepare
    const { put } = await setup();
    const body = `{"name":"x","slug":"support-bot","model":"m","backend":"vllm","execution_policy_config":{"${key}":{"replicas":0}}}`;

    // Act
    const response = await put(body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("validation_failed");
    expect(response.body.error.details).toEqual([
      expect.objectContaining({ path: `execution_policy_config.${key}`, message: expect.stringContaining(key) }),
    ]);
  });

  it("__proto__ at the top cannot smuggle a command or a policy past validation", async () => {
    // Prepare
    const { put } = await setup();
    const body = JSON.stringify(spec).replace(/}$/, ',"__proto__":{"command":"touch /tmp/pwned","execution_policy_config":{"replicas":0}}}');

    // Act
    const response = await put(body);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error.details[0].path).toBe("__proto__");
  });

  it("objects read from a body have no prototype", async () => {
    // Prepare
    const request = new Request("http://local/", { method: "POST", body: '{"a":{"b":[{"c":1}]}}' });

    // Act
    const body = await readJsonBody(request);

    // Assess
    const inner = (body.a as { b: object[] }).b[0] as object;
    expect(Object.getPrototypeOf(body)).toBeNull();
    expect(Object.getPrototypeOf(body.a)).toBeNull();
    expect(Object.getPrototypeOf(inner)).toBeNull();
  });

  it("an unknown field named like an Object method gets no native-code suggestion", async () => {
    // Prepare
    const { put } = await setup();

    // Act
    const response = await put(JSON.stringify({ ...spec, toString: 1, hasOwnProperty: 2 }));

    // Assess
    expect(response.status).toBe(400);
    const details = response.body.error.details as { path: string; message: string; suggestion?: string }[];
    expect(details.map((d) => d.path).sort()).toEqual(["hasOwnProperty", "toString"]);
    for (const detail of details) {
      expect(detail.message).not.toContain("native code");
      expect(detail.suggestion ?? "").not.toContain("function");
    }
  });

  it("a chunked body over the limit is stopped at the limit: the rest is never pulled", async () => {
    // Prepare: 200 MB offered in 64 KiB chunks, no Content-Length.
    const { stream, pulled } = countedStream(3200, 64 * 1024);
    const request = new Request("http://local/", { method: "PUT", body: stream, duplex: "half" } as RequestInit);

    // Act
    const failure = await readBodyLimited(request, 256 * 1024).catch((error: unknown) => error);

    // Assess: 256 KiB is 4 chunks; the fifth crosses the limit, and a handful more may sit in queues.
    expect(failure).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(pulled()).toBeLessThan(16);
  });

  it("an empty body reads as an empty object, and a non-object as a 400", async () => {
    // Act
    const empty = await readJsonBody(new Request("http://local/", { method: "POST", body: "  " }));
    const array = await readJsonBody(new Request("http://local/", { method: "POST", body: "[1]" })).catch((e: unknown) => e);

    // Assess
    expect(Object.keys(empty)).toEqual([]);
    expect(array).toBeInstanceOf(ValidationError);
  });
});
