import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJobMessage, processJobMessage } from "../../src/jobs/consumer";
import { checkWebhookUrl } from "../../src/jobs/webhooks";
import { canonicalJson, digestOf } from "../../src/jobs/store";
import { jobsHarness } from "./support";

describe("job message and body parsers", () => {
  it("parseJobMessage never throws, and accepts only version-1 job messages", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (body) => {
        const parsed = parseJobMessage(body);
        if (parsed !== undefined) {
          expect(parsed.version).toBe(1);
          expect(parsed.type).toBe("job");
          expect(parsed.job_id).toMatch(/^job_[0-9A-Za-z]{4,64}$/);
        }
      }),
    );
  });

  it("a hostile message is dropped (done) without touching any job", async () => {
    // Prepare
    const h = await jobsHarness();

    // Act + Assess
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 500 }), fc.json({ maxDepth: 4 })), async (body) => {
        expect(await processJobMessage(h.consumer, body, 1)).toBe("done");
      }),
      { numRuns: 200 },
    );
    expect(h.executor.calls).toEqual([]);
  });

  it("canonical JSON ignores key order and nothing else, so an idempotent retry's body digest matches", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
        expect(digestOf(reversed)).toBe(digestOf(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
  });

  it("checkWebhookUrl never throws and never accepts a non-https URL without private webhooks", () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl(), fc.string({ maxLength: 300 })), (url) => {
        const problem = checkWebhookUrl(url, false);
        if (problem === undefined) expect(url.toLowerCase().startsWith("https://")).toBe(true);
      }),
    );
  });
});
