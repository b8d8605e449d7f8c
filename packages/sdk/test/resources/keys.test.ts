import { describe, expect, it } from "vitest";
import { InternalServerError, ManagementClient } from "../../src";
import { fakeFetch, jsonResponse, wireError } from "../helpers/fake-fetch";
import { BASE_URL, TOKEN } from "../helpers/fixtures";

const KEY = {
  kind: "live",
  id: "key_1",
  name: "backend",
  project: "acme",
  workload: "billing",
  prefix: "ik_live_",
  last4: "wxyz",
  created_at: "2025-01-01T00:00:00.000Z",
  rate_limit_per_minute: 60,
};

function mgmt(fetch: ReturnType<typeof fakeFetch>) {
  return new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch });
}

describe("keys", () => {
  it("create POSTs snake_case fields, sends no transport options in the body and returns the plaintext key", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(201, { ...KEY, key: "ik_live_secret", expires_at: "2030-01-01T00:00:00.000Z" }),
    );
    const client = mgmt(fetch);

    // Act
    const created = await client.keys.create("billing", {
      name: "backend",
      rateLimitPerMinute: 60,
      expiresAt: new Date("2030-01-01T00:00:00Z"),
      timeoutMs: 5_000,
    });

    // Assess
    expect(fetch.calls[0]?.method).toBe("POST");
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/billing/keys`);
    expect(fetch.calls[0]?.body).toEqual({
      name: "backend",
      rate_limit_per_minute: 60,
      expires_at: "2030-01-01T00:00:00.000Z",
    });
    expect(created).toMatchObject({
      id: "key_1",
      key: "ik_live_secret",
      rateLimitPerMinute: 60,
      createdAt: KEY.created_at,
    });
  });

  it("create is not retried without an idempotency key", async () => {
    // Prepare
    const fetch = fakeFetch(wireError(503, "unavailable", "busy"));
    const client = mgmt(fetch);

    // Act
    const failure = client.keys.create("billing", { name: "backend" });

    // Assess
    await expect(failure).rejects.toBeInstanceOf(InternalServerError);
    expect(fetch.calls).toHaveLength(1);
  });

  it("create with an idempotency key sends it and is retried", async () => {
    // Prepare
    const fetch = fakeFetch(
      wireError(503, "unavailable", "busy", { headers: { "retry-after": "0" } }),
      jsonResponse(201, { ...KEY, key: "ik_live_secret" }),
    );
    const client = mgmt(fetch);

    // Act
    const created = await client.keys.create("billing", {
      name: "backend",
      idempotencyKey: "billing-backend-1",
    });

    // Assess
    expect(created.key).toBe("ik_live_secret");
    expect(fetch.calls.map((c) => c.headers["idempotency-key"])).toEqual([
      "billing-backend-1",
      "billing-backend-1",
    ]);
    expect(fetch.calls[0]?.body).toEqual({ name: "backend" });
  });

  it("list and revoke return camelCase keys", async () => {
    // Prepare
    const revoked = { ...KEY, revoked_at: "2025-02-01T00:00:00.000Z" };
    const fetch = fakeFetch(jsonResponse(200, { data: [KEY] }), jsonResponse(200, revoked));
    const client = mgmt(fetch);

    // Act
    const keys = await client.keys.list("billing");
    const result = await client.keys.revoke("billing", "key_1");

    // Assess
    expect(keys).toEqual([
      {
        kind: "live",
        id: "key_1",
        name: "backend",
        project: "acme",
        workload: "billing",
        prefix: "ik_live_",
        last4: "wxyz",
        createdAt: KEY.created_at,
        rateLimitPerMinute: 60,
      },
    ]);
    expect(fetch.calls[1]?.method).toBe("DELETE");
    expect(fetch.calls[1]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/billing/keys/key_1`);
    expect(result.revokedAt).toBe("2025-02-01T00:00:00.000Z");
  });

  it("rotate sends old_key_expires_in_seconds and returns the new key and the previous one", async () => {
    // Prepare
    const previous = { ...KEY, rotated_to: "key_2", expires_at: "2025-01-01T01:00:00.000Z" };
    const fetch = fakeFetch(jsonResponse(201, { ...KEY, id: "key_2", key: "ik_live_new", previous }));
    const client = mgmt(fetch);

    // Act
    const rotated = await client.keys.rotate("billing", "key_1", { oldKeyExpiresInSeconds: 3600 });

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/billing/keys/key_1/rotate`);
    expect(fetch.calls[0]?.body).toEqual({ old_key_expires_in_seconds: 3600 });
    expect(rotated).toMatchObject({
      id: "key_2",
      key: "ik_live_new",
      previous: { id: "key_1", rotatedTo: "key_2" },
    });
  });

  it("rotate without options sends an empty body and is not retried", async () => {
    // Prepare
    const fetch = fakeFetch(wireError(500, "internal", "boom"));
    const client = mgmt(fetch);

    // Act
    const failure = client.keys.rotate("billing", "key_1");

    // Assess
    await expect(failure).rejects.toBeInstanceOf(InternalServerError);
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0]?.body).toEqual({});
  });
});
