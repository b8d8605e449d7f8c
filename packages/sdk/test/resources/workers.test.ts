import { describe, expect, it } from "vitest";
import { APIConnectionError, ManagementClient } from "../../src";
import { connectionReset, fakeFetch, jsonResponse } from "../helpers/fake-fetch";
import { BASE_URL, TOKEN } from "../helpers/fixtures";

const WORKER = {
  id: "wrk_7Yc2abcd",
  project: "acme",
  name: "gpu-box-1",
  labels: { gpu_kind: "a100" },
  state: "registered",
  created_at: "2025-01-01T00:00:00.000Z",
  token_prefix: "ik_wrk_",
  token_last4: "wxyz",
};

function mgmt(fetch: ReturnType<typeof fakeFetch>) {
  return new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch });
}

describe("workers", () => {
  it("register returns the id and the one-time token, keeping label keys as given", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(201, { ...WORKER, token: "ik_wrk_secret" }));
    const client = mgmt(fetch);

    // Act
    const worker = await client.workers.register({ name: "gpu-box-1", labels: { gpu_kind: "a100" } });

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workers`);
    expect(fetch.calls[0]?.body).toEqual({ name: "gpu-box-1", labels: { gpu_kind: "a100" } });
    expect(worker).toMatchObject({
      id: "wrk_7Yc2abcd",
      token: "ik_wrk_secret",
      tokenLast4: "wxyz",
      labels: { gpu_kind: "a100" },
    });
  });

  it("register is not retried after a reset without an idempotency key, and is with one", async () => {
    // Prepare
    const fetch = fakeFetch(
      connectionReset(),
      connectionReset(),
      jsonResponse(201, { ...WORKER, token: "ik_wrk_secret" }),
    );
    const client = mgmt(fetch);

    // Act
    const first = await client.workers.register({ name: "gpu-box-1" }).catch((e: unknown) => e);
    const second = await client.workers.register({
      name: "gpu-box-1",
      idempotencyKey: "register-gpu-box-1",
      maxRetries: 1,
    });

    // Assess
    expect(first).toBeInstanceOf(APIConnectionError);
    expect(second.token).toBe("ik_wrk_secret");
    expect(fetch.calls).toHaveLength(3);
    expect(fetch.calls[0]?.headers).not.toHaveProperty("idempotency-key");
    expect(fetch.calls[2]?.headers["idempotency-key"]).toBe("register-gpu-box-1");
  });

  it("list, get and deregister address the project's workers", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(200, { data: [{ ...WORKER, status: "offline", gpus: [], replicas: [] }] }),
      jsonResponse(200, {
        ...WORKER,
        last_heartbeat_at: "2025-01-01T00:01:00.000Z",
        status: "online",
        gpus: [],
        replicas: [{ id: "rep_1", workload: "bot", slot: 0, generation: 1, phase: "ready", port: 8001 }],
      }),
      jsonResponse(200, { ...WORKER, state: "draining" }),
    );
    const client = mgmt(fetch);

    // Act
    const workers = await client.workers.list();
    const one = await client.workers.get("wrk_7Yc2abcd");
    const gone = await client.workers.deregister("wrk_7Yc2abcd");

    // Assess
    expect(workers.map((w) => w.id)).toEqual(["wrk_7Yc2abcd"]);
    expect(one).toMatchObject({
      lastHeartbeatAt: "2025-01-01T00:01:00.000Z",
      status: "online",
      replicas: [{ port: 8001 }],
    });
    expect(gone.state).toBe("draining");
    expect(fetch.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      `GET ${BASE_URL}/v1/projects/acme/workers`,
      `GET ${BASE_URL}/v1/projects/acme/workers/wrk_7Yc2abcd`,
      `DELETE ${BASE_URL}/v1/projects/acme/workers/wrk_7Yc2abcd`,
    ]);
  });
});
