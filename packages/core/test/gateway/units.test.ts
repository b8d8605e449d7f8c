import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  createGateway,
  extractUsage,
  fileUrl,
  LocalFileBlobStore,
  MemoryBlobStore,
  UsageScanner,
} from "../../src/gateway";
import { ReplayableBody, readLimited } from "../../src/gateway/body";
import { MultipartFieldSniffer } from "../../src/gateway/images";
import { SlidingWindowCounter } from "../../src/gateway/rate-window";
import { FakeClock, PNG_1X1, TestPlatform } from "./support";

const encode = (s: string) => new TextEncoder().encode(s);

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

describe("usage scanning", () => {
  const sse = [
    'data: {"choices":[{"delta":{"content":"say \\"usage\\": {\\"prompt_tokens\\": 999}"}}]}\n\n',
    'data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}}\n\n',
    "data: [DONE]\n\n",
  ].join("");

  it("finds the usage chunk of an SSE stream however the bytes are split", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: sse.length - 1 }), { maxLength: 12 }), (cuts) => {
        // Prepare
        const bytes = encode(sse);
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const scanner = new UsageScanner("sse");

        // Act
        let from = 0;
        for (const point of [...points, bytes.length]) {
          scanner.push(bytes.subarray(from, point));
          from = point;
        }

        // Assess
        expect(scanner.finish()).toEqual({ promptTokens: 12, completionTokens: 34 });
      }),
    );
  });

  it("reads SSE streams with multi-byte text and usage anywhere exactly as a whole-text read would", () => {
    // Prepare: events with emoji and accents in their text, some carrying usage, cut at random byte offsets.
    const event = fc.record({
      text: fc.string({ unit: fc.constantFrom("a", " ", "é", "€", "😀", "\\", '"', "usage"), maxLength: 20 }),
      usage: fc.option(fc.record({ prompt: fc.nat(5000), completion: fc.nat(5000) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(2000), { maxLength: 10 }), (events, cuts) => {
        const text = events
          .map(
            (e) =>
              `data: ${JSON.stringify({
                choices: [{ delta: { content: e.text } }],
                ...(e.usage === undefined ? {} : { usage: { prompt_tokens: e.usage.prompt, completion_tokens: e.usage.completion } }),
              })}\n\n`,
          )
          .join("");
        const bytes = encode(text);
        const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
        const scanner = new UsageScanner("sse");
        // Act
        let from = 0;
        for (const point of [...points, bytes.length]) {
          scanner.push(bytes.subarray(from, point));
          from = point;
        }
        // Assess: the last usage in the stream, as reading all of it at once finds it.
        expect(scanner.finish()).toEqual(extractUsage(text));
      }),
      { numRuns: 300 },
    );
  });

  it("reads the usage at the end of a large JSON body from a bounded tail", () => {
    // Prepare
    const body = JSON.stringify({ data: [{ embedding: new Array(20_000).fill(0.123) }], usage: { prompt_tokens: 7, total_tokens: 7 } });
    const scanner = new UsageScanner("json");

    // Act
    for (let i = 0; i < body.length; i += 4096) scanner.push(encode(body.slice(i, i + 4096)));

    // Assess
    expect(scanner.finish()).toEqual({ promptTokens: 7, completionTokens: 0 });
  });

  it("ignores escaped look-alikes and null usage", () => {
    expect(extractUsage('{"text":"\\"usage\\": {\\"prompt_tokens\\": 5}","usage":null}')).toBeUndefined();
  });
});

describe("request bodies", () => {
  it("readLimited refuses more than the limit", async () => {
    await expect(readLimited(streamOf([encode("12345"), encode("678")]), 7)).rejects.toThrow("exceeds 7 bytes");
    expect(Buffer.from(await readLimited(streamOf([encode("12345"), encode("67")]), 7)).toString()).toBe("1234567");
  });

  it("a replayable body replays what a failed attempt consumed, then continues from the client", async () => {
    // Prepare
    const body = new ReplayableBody(streamOf([encode("aa"), encode("bb"), encode("cc")]), 100, true);
    const first = body.attempt().getReader();
    await first.read();
    await first.read();

    // Act: the first attempt dies after two chunks; a second one sends everything.
    await first.cancel();
    const second = await drain(body.attempt());

    // Assess
    expect(second).toBe("aabbcc");
  });

  it("without replay, a body that was partly sent cannot be retried, and one never read can", async () => {
    const used = new ReplayableBody(streamOf([encode("aa"), encode("bb")]), 100, false);
    await used.attempt().getReader().read();
    const fresh = new ReplayableBody(streamOf([encode("aa")]), 100, false);
    expect(used.canReplay()).toBe(false);
    expect(fresh.canReplay()).toBe(true);
  });

  it("finds a multipart field split across chunks", () => {
    // Prepare
    const form = '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nblue\r\n--b\r\nContent-Disposition: form-data; name="response_format"\r\n\r\nb64_json\r\n--b--\r\n';
    for (let cut = 1; cut < form.length; cut += 7) {
      const sniffer = new MultipartFieldSniffer("response_format");

      // Act
      sniffer.push(encode(form.slice(0, cut)));
      sniffer.push(encode(form.slice(cut)));

      // Assess
      expect(sniffer.value).toBe("b64_json");
    }
  });
});

describe("sliding window", () => {
  it("limits to N per minute and computes Retry-After", () => {
    // Prepare
    let now = 0;
    const counter = new SlidingWindowCounter(() => now);

    // Act
    const admitted = [counter.admit("k", 2), counter.admit("k", 2)];
    const refused = counter.admit("k", 2);
    now = 60_000;
    const atRollover = counter.admit("k", 2);
    now = 90_001;
    const later = counter.admit("k", 2);

    // Assess
    expect(admitted).toEqual([0, 0]);
    expect(refused).toBe(60);
    expect(atRollover).toBe(1);
    expect(later).toBe(0);
    expect(counter.rate("k")).toBeCloseTo(2 * (1 - 30_001 / 60_000) + 1, 3);
  });
});

describe("blob stores and signed file URLs", () => {
  const dir = mkdtempSync(join(tmpdir(), "ik-blobs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    { name: "memory", make: (now: () => Date) => new MemoryBlobStore({ now }) },
    { name: "local files", make: (now: () => Date) => new LocalFileBlobStore(dir, { now, sweepIntervalMs: 0 }) },
  ])("$name: stores, serves until expiry, refuses keys that could escape", async ({ make }) => {
    // Prepare
    const clock = new FakeClock();
    const store = make(clock.now);
    const key = "acme/img/file_AAAAAAAAAAAAAAAAAAAAAAAA";

    // Act
    await store.put(key, { data: PNG_1X1, contentType: "image/png", expiresAt: new Date(clock.now().getTime() + 1000) });
    const fresh = await store.get(key, clock.now());
    clock.advance(1000);
    const expired = await store.get(key, clock.now());

    // Assess
    expect(Buffer.from(fresh?.data ?? []).equals(PNG_1X1)).toBe(true);
    expect(fresh?.contentType).toBe("image/png");
    expect(expired).toBeUndefined();
    await expect(store.put("acme/img/../../etc/passwd", { data: PNG_1X1, contentType: "x", expiresAt: new Date() })).rejects.toThrow(
      "invalid blob key",
    );
  });

  it("local files: a sweep deletes expired blobs", async () => {
    const clock = new FakeClock();
    const store = new LocalFileBlobStore(join(dir, "sweep"), { now: clock.now });
    await store.put("acme/img/file_BBBBBBBBBBBBBBBBBBBBBBBB", { data: PNG_1X1, contentType: "image/png", expiresAt: new Date(clock.now().getTime() + 10) });
    clock.advance(20);
    await store.sweep();
    expect(readdirSync(join(dir, "sweep", "acme", "img"))).toEqual([]);
  });

  it("the gateway serves a signed URL until it expires, and refuses a tampered one", async () => {
    // Prepare
    const clock = new FakeClock();
    const platform = new TestPlatform(clock.now);
    const blobs = new MemoryBlobStore({ now: clock.now });
    const gateway = createGateway(platform.ctx, { blobs, usageFlushMs: 0 });
    const id = "file_CCCCCCCCCCCCCCCCCCCCCCCC";
    const expires = Math.floor(clock.now().getTime() / 1000) + 3600;
    await blobs.put(`acme/img/${id}`, { data: PNG_1X1, contentType: "image/png", expiresAt: new Date(expires * 1000) });
    const url = fileUrl("http://gw.local", platform.ctx.serverSecret, "acme", "img", id, expires);
    const get = async (u: string) => {
      const response = await gateway.handle(new Request(u));
      const body = Buffer.from(await response.arrayBuffer());
      return { status: response.status, body, code: response.ok ? undefined : (JSON.parse(body.toString()) as { error: { code: string } }).error.code };
    };

    // Act
    const ok = await get(url);
    const otherWorkload = await get(url.replace("/acme/img/", "/acme/other/"));
    const longer = await get(url.replace(`expires=${expires}`, `expires=${expires + 3600}`));
    clock.advance(3600 * 1000);
    const expired = await get(url);
    await gateway.close();

    // Assess
    expect(ok.status).toBe(200);
    expect(ok.body.equals(PNG_1X1)).toBe(true);
    expect(otherWorkload).toMatchObject({ status: 403, code: "file_url_invalid" });
    expect(longer).toMatchObject({ status: 403, code: "file_url_invalid" });
    expect(expired).toMatchObject({ status: 403, code: "file_url_expired" });
  });
});
