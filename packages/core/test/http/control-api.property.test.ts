import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bootstrapAdminToken,
  createControlApi,
  MemoryStore,
  parseJsonBody,
  type PlatformContext,
  ValidationError,
  validateSpec,
  WORKLOAD_SPEC_FIELDS,
} from "../../src";

/**
 * Property: whatever JSON a client sends (up to the control API's 256 KiB body limit), the validator
 * either accepts it or throws a ValidationError with details, and the control API on a memory store
 * with no agent answers 200/201 or a 400 whose details say what is wrong, never a 500 (nor anything
 * else). Values are random JSON, and spec-shaped objects whose known fields hold random values, so
 * the deeper checks (policies, schedules, workers) are reached too; keys include the reserved ones.
 */
const BODY_LIMIT = 256 * 1024;

const anyValue = fc.jsonValue({ maxDepth: 4 });
const fieldName = fc.oneof(
  fc.constantFrom(...WORKLOAD_SPEC_FIELDS, "__proto__", "constructor", "prototype", "toString", "replicas", "valueOf"),
  fc.string({ maxLength: 12 }),
);
const policyConfig = fc.oneof(
  anyValue,
  fc.dictionary(
    fc.constantFrom("replicas", "window", "cron", "timezone", "run_duration_minutes", "min_workers", "max_workers", "workers", "max_hourly_cost_usd", "__proto__"),
    fc.oneof(anyValue, fc.string({ maxLength: 40 }), fc.integer({ min: -5, max: 200 })),
  ),
);
const specLike = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 30 }), anyValue),
    slug: fc.oneof(fc.constant("target"), fc.string({ maxLength: 20 }), anyValue),
    model: fc.oneof(fc.constant("org/model"), fc.string({ maxLength: 40 }), anyValue),
    backend: fc.oneof(fc.constantFrom("vllm", "sglang", "ollama", "vllm-omni", "custom"), anyValue),
    task_type: fc.oneof(fc.constantFrom("text2text", "text2embedding", "text2image", "image2text"), anyValue),
    vllm_version: fc.oneof(fc.constantFrom("0.6.3", "0.6.3.post1"), fc.string({ maxLength: 20 }), anyValue),
    execution_policy: fc.oneof(fc.constantFrom("fixed", "scheduled", "autoscaling"), anyValue),
    execution_policy_config: policyConfig,
    worker_id: fc.oneof(fc.string({ maxLength: 20 }), anyValue),
  },
  { requiredKeys: [] },
);
const withExtraKeys = fc
  .tuple(specLike, fc.dictionary(fieldName, anyValue, { maxKeys: 3 }))
  .map(([spec, extra]) => Object.assign(Object.create(null), extra, spec) as unknown);
const body = fc.oneof(anyValue, specLike, withExtraKeys);

async function setup() {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date("2030-01-01T00:00:00Z") };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  return { api: createControlApi(ctx, { log: () => undefined }), admin };
}

function expectValidationDetails(error: unknown): void {
  expect(error).toBeInstanceOf(ValidationError);
  const details = (error as ValidationError).details;
  expect(details.length).toBeGreaterThan(0);
  for (const detail of details) {
    expect(typeof detail.path).toBe("string");
    expect(typeof detail.message).toBe("string");
  }
}

describe("control API and validator (property): any JSON is 200 or 400 with details, never a 500", () => {
  it("validateSpec accepts or throws a ValidationError with details", () => {
    fc.assert(
      fc.property(body, (value) => {
        try {
          // The wire form: what a request body gives for this value (objects without prototypes).
          validateSpec(parseJsonBody(JSON.stringify(value) ?? "null"));
        } catch (error) {
          expectValidationDetails(error);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("PUT of a workload and the create routes answer 2xx or 400 with details", async () => {
    const { api, admin } = await setup();
    const routes = [
      { method: "PUT", path: "/v1/projects/acme/workloads/target" },
      { method: "POST", path: "/v1/projects" },
      { method: "POST", path: "/v1/tokens" },
      { method: "POST", path: "/v1/projects/acme/workers" },
      { method: "POST", path: "/v1/projects/acme/workloads/target/keys" },
    ];
    // The key route needs its workload to exist, whatever the property later does to it.
    await api(
      new Request("http://local/v1/projects/acme/workloads/target", {
        method: "PUT",
        headers: { authorization: `Bearer ${admin}` },
        body: JSON.stringify({ name: "t", slug: "target", model: "org/model", backend: "vllm", execution_policy_config: { replicas: 0 } }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async (route, value) => {
        const text = JSON.stringify(value) ?? "null";
        fc.pre(Buffer.byteLength(text) <= BODY_LIMIT);
        const response = await api(
          new Request(`http://local${route.path}`, {
            method: route.method,
            headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
            body: text,
          }),
        );
        const answer = (await response.json()) as { error?: { code: string; details: { path: string; message: string }[] } };
        expect([200, 201, 400]).toContain(response.status);
        if (response.status === 400) {
          expect(answer.error?.code).toBe("validation_failed");
          expect(answer.error?.details.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
