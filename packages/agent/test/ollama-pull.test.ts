import { describe, expect, it } from "vitest";
import { describePullLine, OllamaModelPull, type ProbeTarget } from "../src";

const target: ProbeTarget = { backend: "ollama", host: "127.0.0.1", port: 11434, model: "llama3.1", secret: "unused" };

/** A fetch that answers /api/pull with the given NDJSON lines, released one by one by `step()`. */
function fakeOllama(lines: object[], status = 200) {
  const calls: { url: string; body: unknown }[] = [];
  let release: (() => void) | undefined;
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), body: JSON.parse(String(init?.body)) });
    const encoder = new TextEncoder();
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (index >= lines.length) {
          controller.close();
          return;
        }
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        controller.enqueue(encoder.encode(`${JSON.stringify(lines[index++])}\n`));
      },
    });
    return new Response(body, { status });
  }) as typeof fetch;
  const step = async () => {
    for (let i = 0; i < 50 && release === undefined; i++) await new Promise((r) => setTimeout(r, 2));
    const go = release;
    release = undefined;
    go?.();
    await new Promise((r) => setTimeout(r, 5));
  };
  return { fetchImpl, calls, step };
}

describe("describePullLine", () => {
  it("says what ollama is doing, with a percentage and sizes when it reports them", () => {
    expect(describePullLine({ status: "pulling manifest" })).toBe("pulling manifest");
    expect(describePullLine({ status: "pulling 6a07", total: 4 * 1024 ** 3, completed: 1024 ** 3 })).toBe(
      "pulling 6a07: 25% (1.0 of 4.0 GB)",
    );
    expect(describePullLine({ status: "pulling 6a07", total: 0, completed: 0 })).toBe("pulling 6a07");
    expect(describePullLine({})).toBe("working");
  });
});

describe("OllamaModelPull", () => {
  it("starts one pull however often it is asked, and reports its progress", async () => {
    // Prepare
    const ollama = fakeOllama([{ status: "pulling manifest" }, { status: "pulling 6a07", total: 300 * 1024 ** 2, completed: 150 * 1024 ** 2 }, { status: "success" }]);
    const pull = new OllamaModelPull(target, { fetch: ollama.fetchImpl });
    // Act
    const first = pull.ensure();
    pull.ensure();
    await ollama.step();
    await ollama.step();
    const halfway = pull.ensure();
    // Assess
    expect(ollama.calls).toEqual([{ url: "http://127.0.0.1:11434/api/pull", body: { model: "llama3.1", name: "llama3.1", stream: true } }]);
    expect(first).toEqual({ ok: false, reason: "pulling model llama3.1 into ollama: requested", progress: true });
    expect(halfway).toEqual({ ok: false, reason: "pulling model llama3.1 into ollama: pulling 6a07: 50% (150.0 of 300.0 MB)", progress: true });
    await ollama.step();
  });

  it("stops counting as progress once the pull has said nothing for the stalled period", async () => {
    // Prepare
    let now = 1_000_000;
    const ollama = fakeOllama([{ status: "pulling manifest" }, { status: "success" }]);
    const pull = new OllamaModelPull(target, { fetch: ollama.fetchImpl, now: () => now, stalledAfterMs: 60_000 });
    pull.ensure();
    await ollama.step();
    // Act
    now += 59_000;
    const fresh = pull.ensure();
    now += 2_000;
    const stalled = pull.ensure();
    // Assess
    expect(fresh).toMatchObject({ progress: true });
    expect(stalled).toMatchObject({ progress: false, reason: "pulling model llama3.1 into ollama: pulling manifest" });
    await ollama.step();
  });

  it("reports ollama's error and pulls again only after the retry delay", async () => {
    // Prepare
    let now = 1_000_000;
    const ollama = fakeOllama([{ status: "pulling manifest" }, { error: "pull model manifest: file does not exist" }]);
    const pull = new OllamaModelPull(target, { fetch: ollama.fetchImpl, now: () => now, retryAfterMs: 30_000 });
    pull.ensure();
    await ollama.step();
    await ollama.step();
    await new Promise((r) => setTimeout(r, 10));
    // Act
    now += 10_000;
    const failed = pull.ensure();
    now += 20_000;
    pull.ensure();
    // Assess
    expect(failed).toEqual({
      ok: false,
      reason: "pulling model llama3.1 into ollama failed: pull model manifest: file does not exist; retrying in 20 s",
    });
    expect(ollama.calls).toHaveLength(2);
  });

  it("treats an error status without error lines, and a pull that ends without success, as failures", async () => {
    // Prepare
    const refused = fakeOllama([], 500);
    const truncated = fakeOllama([{ status: "pulling manifest" }]);
    const a = new OllamaModelPull(target, { fetch: refused.fetchImpl });
    const b = new OllamaModelPull(target, { fetch: truncated.fetchImpl });
    // Act
    a.ensure();
    b.ensure();
    await truncated.step();
    await new Promise((r) => setTimeout(r, 20));
    // Assess
    expect(a.ensure()).toMatchObject({ reason: expect.stringContaining("failed: POST http://127.0.0.1:11434/api/pull answered 500") });
    expect(b.ensure()).toMatchObject({ reason: expect.stringContaining("failed: the pull ended without reporting success") });
  });

  it("tells its progress to the log: each new step, a download's percentage at most every 5 s, and the end", async () => {
    // Prepare
    let now = 1_000_000;
    const MB = 1024 ** 2;
    const layer = (completed: number) => ({ status: "pulling 6a07", total: 100 * MB, completed: completed * MB });
    const ollama = fakeOllama([{ status: "pulling manifest" }, layer(10), layer(20), layer(60), { status: "verifying sha256 digest" }, { status: "success" }]);
    const lines: string[] = [];
    const pull = new OllamaModelPull(target, { fetch: ollama.fetchImpl, now: () => now, log: (line) => lines.push(line) });

    // Act
    pull.ensure();
    await ollama.step();
    await ollama.step();
    now += 1_000;
    await ollama.step(); // 20%, one second after 10%: not told
    now += 5_000;
    await ollama.step(); // 60%, six seconds after 10%: told
    await ollama.step();
    now += 1_000;
    await ollama.step();
    await new Promise((r) => setTimeout(r, 10));

    // Assess
    expect(lines).toEqual([
      "pulling model llama3.1 into ollama",
      "pulling model llama3.1 into ollama: pulling manifest",
      "pulling model llama3.1 into ollama: pulling 6a07: 10% (10.0 of 100.0 MB)",
      "pulling model llama3.1 into ollama: pulling 6a07: 60% (60.0 of 100.0 MB)",
      "pulling model llama3.1 into ollama: verifying sha256 digest",
      "pulled model llama3.1 into ollama in 7 s",
    ]);
  });

  it("tells a failed pull and when it is retried", async () => {
    // Prepare
    const ollama = fakeOllama([{ error: "pull model manifest: file does not exist" }]);
    const lines: string[] = [];
    const pull = new OllamaModelPull(target, { fetch: ollama.fetchImpl, retryAfterMs: 30_000, log: (line) => lines.push(line) });

    // Act
    pull.ensure();
    await ollama.step();
    await new Promise((r) => setTimeout(r, 10));

    // Assess
    expect(lines.at(-1)).toBe("pulling model llama3.1 into ollama failed: pull model manifest: file does not exist; retrying in 30 s");
  });
});
