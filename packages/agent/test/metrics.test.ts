import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { loadFromSamples, PeakWindow, parsePrometheusText, type Sample, scrapeLoad } from "../src";

const at = new Date("2026-11-27T10:00:00Z");

/** What the test replica and vLLM 0.6+ serve (trimmed): gauges, labels, a histogram, counters. */
const VLLM_METRICS = `# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.4375
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="0.3",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 12.0
vllm:e2e_request_latency_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 40.5
python_gc_objects_collected_total{generation="0"} 1234.0
process_start_time_seconds 1.73268e+09
`;

describe("parsePrometheusText", () => {
  it("reads names, labels and values, skipping comments", () => {
    // Act
    const samples = parsePrometheusText(VLLM_METRICS);
    // Assess
    expect(samples).toHaveLength(8);
    expect(samples[0]).toEqual({
      name: "vllm:num_requests_running",
      labels: { model_name: "meta-llama/Llama-3.1-8B-Instruct" },
      value: 3,
    });
    expect(samples.find((s) => s.labels.le === "+Inf")?.value).toBe(12);
    expect(samples.at(-1)).toEqual({ name: "process_start_time_seconds", labels: {}, value: 1.73268e9 });
  });

  it("handles escapes in label values, special values, timestamps and CRLF", () => {
    const text =
      'm{a="q\\"uote",b="back\\\\slash",c="new\\nline"} +Inf 1700000000000\r\nn NaN\r\no -Inf\np{} 2\n';
    const samples = parsePrometheusText(text);
    expect(samples[0]).toEqual({
      name: "m",
      labels: { a: 'q"uote', b: "back\\slash", c: "new\nline" },
      value: Number.POSITIVE_INFINITY,
    });
    expect(Number.isNaN(samples[1]?.value)).toBe(true);
    expect(samples.slice(2)).toEqual([
      { name: "o", labels: {}, value: Number.NEGATIVE_INFINITY },
      { name: "p", labels: {}, value: 2 },
    ]);
  });

  it("keeps a label named __proto__ as a label", () => {
    expect(parsePrometheusText('m{__proto__="x"} 1')[0]?.labels).toEqual(JSON.parse('{"__proto__":"x"}'));
  });

  it("skips malformed lines and keeps the good ones", () => {
    const text = [
      "good 1",
      'bad{unterminated="x 2',
      "9starts_with_digit 3",
      "novalue",
      "m{l=unquoted} 4",
      'also_good{x="y"} 5',
      "word notanumber",
    ].join("\n");
    expect(parsePrometheusText(text).map((s) => s.value)).toEqual([1, 5]);
  });

  it("never throws, whatever the text (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
        parsePrometheusText(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on text made of exposition-format pieces (property)", () => {
    const piece = fc.constantFrom(
      "vllm:num_requests_running",
      "{",
      "}",
      '"',
      "=",
      ",",
      "\\",
      " ",
      "\n",
      "#",
      "le",
      "1.5",
      "+Inf",
      "NaN",
      "e",
      "\t",
      "\r",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
        parsePrometheusText(pieces.join(""));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads back what a writer renders (property)", () => {
    const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
    const labels = fc.dictionary(
      fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/),
      fc.string({ maxLength: 20 }),
      { maxKeys: 3 },
    );
    const value = fc.double({ noNaN: true });
    const escapeLabel = (v: string) =>
      v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
    const render = (s: Sample) => {
      const entries = Object.entries(s.labels);
      const labelText =
        entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
      const valueText =
        s.value === Number.POSITIVE_INFINITY
          ? "+Inf"
          : s.value === Number.NEGATIVE_INFINITY
            ? "-Inf"
            : String(s.value);
      return `${s.name}${labelText} ${valueText}`;
    };
    fc.assert(
      fc.property(fc.array(fc.record({ name, labels, value }), { maxLength: 8 }), (samples) => {
        const parsed = parsePrometheusText(samples.map(render).join("\n"));
        expect(parsed).toEqual(
          samples.map((s) => ({
            ...s,
            labels: { ...s.labels },
            value: Object.is(s.value, -0) ? 0 : s.value,
          })),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe("loadFromSamples", () => {
  it("reads vLLM's running, waiting and KV-cache usage", () => {
    expect(loadFromSamples(parsePrometheusText(VLLM_METRICS), at)).toEqual({
      running_requests: 3,
      waiting_requests: 7,
      kv_cache_usage: 0.4375,
      scraped_at: "2026-11-27T10:00:00.000Z",
    });
  });

  it("falls back to the older vllm:gpu_cache_usage_perc", () => {
    const text = "vllm:num_requests_running 1\nvllm:num_requests_waiting 0\nvllm:gpu_cache_usage_perc 0.25\n";
    expect(loadFromSamples(parsePrometheusText(text), at)).toMatchObject({
      running_requests: 1,
      waiting_requests: 0,
      kv_cache_usage: 0.25,
    });
  });

  it("reads sglang's gauges", () => {
    const text =
      'sglang:num_running_reqs{model_name="m"} 4\nsglang:num_queue_reqs{model_name="m"} 2\nsglang:token_usage{model_name="m"} 0.5\n';
    expect(loadFromSamples(parsePrometheusText(text), at)).toMatchObject({
      running_requests: 4,
      waiting_requests: 2,
      kv_cache_usage: 0.5,
    });
  });

  it("sums requests over series and clamps usage into [0, 1]", () => {
    const text =
      'vllm:num_requests_running{model_name="a"} 2\nvllm:num_requests_running{model_name="b"} 5\nvllm:kv_cache_usage_perc 1.7\n';
    expect(loadFromSamples(parsePrometheusText(text), at)).toMatchObject({
      running_requests: 7,
      waiting_requests: 0,
      kv_cache_usage: 1,
    });
  });

  it("is undefined without any request gauge, and ignores non-finite values", () => {
    expect(loadFromSamples(parsePrometheusText("process_start_time_seconds 1\n"), at)).toBeUndefined();
    expect(
      loadFromSamples(
        parsePrometheusText("vllm:num_requests_running NaN\nvllm:num_requests_waiting 1\n"),
        at,
      ),
    ).toMatchObject({
      running_requests: 0,
      waiting_requests: 1,
    });
  });
});

describe("scrapeLoad", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it("scrapes /metrics of a replica", async () => {
    // Prepare
    server = createServer((req, res) => res.end(req.url === "/metrics" ? VLLM_METRICS : ""));
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    // Act
    const load = await scrapeLoad(
      { backend: "vllm", host: "127.0.0.1", port, model: "m", secret: "s" },
      { now: () => at },
    );
    // Assess
    expect(load).toMatchObject({ running_requests: 3, waiting_requests: 7 });
  });

  it("answers undefined for ollama (no /metrics) and for a replica that does not answer", async () => {
    expect(
      await scrapeLoad({ backend: "ollama", host: "127.0.0.1", port: 1, model: "m", secret: "s" }),
    ).toBeUndefined();
    expect(
      await scrapeLoad({ backend: "vllm", host: "127.0.0.1", port: 1, model: "m", secret: "s" }),
    ).toBeUndefined();
  });
});

describe("PeakWindow", () => {
  it("keeps the highest sample of the trailing window, and forgets it once the window has passed", () => {
    // Prepare
    const window = new PeakWindow(60_000);
    // Act: a burst of 37 at 10 s between readings of 0 and 2.
    window.add(0, 0);
    window.add(10_000, 37);
    window.add(11_000, 2);
    window.add(50_000, 0);
    // Assess
    expect(window.peak(50_000)).toBe(37);
    expect(window.peak(69_999)).toBe(37);
    expect(window.peak(70_000)).toBe(2);
    expect(window.peak(71_000)).toBe(0);
    expect(window.peak(200_000)).toBeUndefined();
  });

  it("property: the peak equals the maximum of the samples inside the window", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 100 })), { maxLength: 60 }), fc.integer({ min: 1, max: 100 }), (steps, windowMs) => {
        const window = new PeakWindow(windowMs);
        const seen: { at: number; value: number }[] = [];
        let at = 0;
        for (const [step, value] of steps) {
          at += step;
          window.add(at, value);
          seen.push({ at, value });
          const inside = seen.filter((s) => s.at > at - windowMs).map((s) => s.value);
          expect(window.peak(at)).toBe(inside.length === 0 ? undefined : Math.max(...inside));
        }
      }),
    );
  });
});
