import { describe, expect, expectTypeOf, it } from "vitest";
import type { UsageReport } from "../../../core/src/usage";
import { ManagementClient } from "../../src";
import type { UsageReportWire } from "../../src/resources/usage";
import { type FakeFetch, fakeFetch, jsonResponse } from "../helpers/fake-fetch";
import { BASE_URL, TOKEN } from "../helpers/fixtures";

function mgmt(fetch: FakeFetch) {
  return new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch });
}

function summary(requests: number) {
  return {
    requests,
    errors: 1,
    cancelled: 0,
    prompt_tokens: 100,
    completion_tokens: 50,
    total_tokens: 150,
    unmetered: 0,
    latency_ms_avg: 120,
    latency_ms_max: 480,
    latency_ms_p50: 250,
    latency_ms_p99: 500,
  };
}

const REPORT: UsageReport = {
  project: "acme",
  workload: "support-bot",
  from: "2025-06-02T10:00:00.000Z",
  to: "2025-06-02T11:00:00.000Z",
  totals: summary(3),
  by_key: [{ key_id: "key_1", ...summary(3) }],
  by_minute: [{ minute: "2025-06-02T10:05", ...summary(3) }],
};

describe("usage", () => {
  it("keeps the SDK's wire type identical to the core's UsageReport", () => {
    // Prepare
    const wire = REPORT;

    // Act
    const asSdkWire: UsageReportWire = wire;

    // Assess
    expectTypeOf<UsageReportWire>().toEqualTypeOf<UsageReport>();
    expect(asSdkWire).toBe(wire);
  });

  it("GETs the workload's usage with the range as ISO strings and returns it in camelCase", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, REPORT));
    const client = mgmt(fetch);

    // Act
    const usage = await client.usage("support-bot", {
      from: new Date("2025-06-02T10:00:00Z"),
      to: "2025-06-02T11:00:00Z",
    });

    // Assess
    expect(fetch.calls[0]?.method).toBe("GET");
    expect(fetch.calls[0]?.url).toBe(
      `${BASE_URL}/v1/projects/acme/workloads/support-bot/usage?from=2025-06-02T10%3A00%3A00.000Z&to=2025-06-02T11%3A00%3A00Z`,
    );
    expect(fetch.calls[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(usage).toEqual({
      project: "acme",
      workload: "support-bot",
      from: "2025-06-02T10:00:00.000Z",
      to: "2025-06-02T11:00:00.000Z",
      totals: expect.objectContaining({
        requests: 3,
        promptTokens: 100,
        totalTokens: 150,
        latencyMsP99: 500,
      }),
      byKey: [expect.objectContaining({ keyId: "key_1", completionTokens: 50 })],
      byMinute: [expect.objectContaining({ minute: "2025-06-02T10:05", latencyMsAvg: 120 })],
    });
  });

  it("sends no range when none is given (the server's default applies)", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, REPORT));
    const client = mgmt(fetch);

    // Act
    await client.usage("support-bot");

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/support-bot/usage`);
  });
});
