import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Compute } from "../../src/compute";
import { reconcileWorkload, recordColdRequest, type SignalSource } from "../../src/controller";
import { bearer, GATEWAY_BINDINGS, type ServedGateway, serveGateway, TestPlatform } from "./support";

/**
 * What counts as demand (the autoscaler's request rate and cold-request signal): only servable
 * requests of one incarnation of a workload. Refused calls and GET /v1/models never wake a workload
 * scaled to zero, and a re-created slug starts from zero.
 */
const AUTOSCALING = {
  execution_policy: "autoscaling" as const,
  execution_policy_config: {
    min_workers: 0,
    max_workers: 2,
    max_hourly_cost_usd: 5,
    workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
  },
};

/** Places nothing: the controller's decision (desired) is what these tests look at. */
const noPlacement: Compute = { placeCloudReplica: async () => ({ unavailable: "no compute in this test" }) };

describe.each(GATEWAY_BINDINGS)("gateway: what counts as demand ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  const scaleUps: string[] = [];
  let served: ServedGateway;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    await platform.workload("acme", { slug: "chat", ...AUTOSCALING });
    await platform.workload("acme", { slug: "ranker", task_type: "reranker", ...AUTOSCALING });
    await platform.workload("acme", { slug: "limited", ...AUTOSCALING });
    await platform.workload("acme", { slug: "other", ...AUTOSCALING });
    for (const slug of ["chat", "ranker", "other"]) keys.set(slug, (await platform.key("acme", slug)).secret);
    keys.set("limited", (await platform.key("acme", "limited", { rate_limit_per_minute: 1 })).secret);
    served = await serveGateway(
      platform,
      {
        requestScaleUp: async (project, workload, incarnation) => {
          scaleUps.push(`${project}/${workload}`);
          await recordColdRequest(platform.ctx, project, workload, incarnation);
        },
        routes: { "chat/completions": { maxBodyBytes: 1000 } },
      },
      binding,
    );
  });

  afterAll(async () => {
    await served?.close();
  });

  const send = (workload: string, route: string, init: { method?: string; key?: string | null; body?: string } = {}) =>
    fetch(`${served.url}/endpoint/acme/${workload}/v1/${route}`, {
      method: init.method ?? "POST",
      headers: {
        ...(init.key === null ? {} : bearer(init.key ?? keys.get(workload) ?? "")),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
  const chatBody = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });
  const codeOf = async (response: Response) => ((await response.json()) as { error?: { code?: string } }).error?.code ?? String(response.status);
  const signals: SignalSource = { requestsPerMinute: (_p, _w, incarnation) => served.gateway.gatewayRequestRate(incarnation), queuedJobs: () => 0 };

  it("refused calls and GET /v1/models neither count toward the rate nor ask for a scale-up", async () => {
    // Act
    const codes = [
      await codeOf(await send("chat", "embeddings", { body: "{}" })),
      await codeOf(await send("chat", "rerank", { body: "{}" })),
      await codeOf(await send("ranker", "chat/completions", { body: chatBody })),
      await codeOf(await send("chat", "chat/completions", { key: null, body: chatBody })),
      await codeOf(await send("chat", "chat/completions", { key: "ik_live_notakey", body: chatBody })),
      await codeOf(await send("chat", "chat/completions", { key: keys.get("other"), body: chatBody })),
      await codeOf(await send("chat", "chat/completions", { method: "GET" })),
      await codeOf(await send("chat", "chat/completions", { body: JSON.stringify({ messages: [{ role: "user", content: "x".repeat(2000) }] }) })),
      await codeOf(await send("chat", "models", { method: "GET" })),
      await codeOf(await send("ranker", "models", { method: "GET" })),
      await codeOf(
        await fetch(`${served.url}/endpoint/acme/chat/v1/chat/completions`, {
          method: "POST",
          headers: { ...bearer(keys.get("chat") ?? ""), "content-type": "application/json", "x-scale-up-timeout": "soon" },
          body: chatBody,
        }),
      ),
    ];

    // Assess
    expect(codes).toEqual([
      "route_not_served",
      "route_not_served",
      "route_not_served",
      "missing_api_key",
      "malformed_api_key",
      "key_wrong_workload",
      "method_not_allowed",
      "payload_too_large",
      "200",
      "200",
      "invalid_scale_up_timeout",
    ]);
    expect(served.gateway.gatewayRequestRate(await platform.incarnation("acme", "chat"))).toBe(0);
    expect(served.gateway.gatewayRequestRate(await platform.incarnation("acme", "ranker"))).toBe(0);
    expect(scaleUps).toEqual([]);
  });

  it("a reranker scaled to zero stays at zero after refused calls", async () => {
    // Prepare
    for (let i = 0; i < 20; i++) await send("ranker", "embeddings", { body: "{}" });

    // Act
    const outcome = await reconcileWorkload(platform.ctx, noPlacement, "acme", "ranker", { signals });

    // Assess
    expect(outcome?.desired).toBe(0);
  });

  it("a synchronous rerank on a reranker is servable demand: it counts, asks for a scale-up and wakes the workload", async () => {
    // Act
    const response = await send("ranker", "rerank", { body: JSON.stringify({ query: "q", documents: ["a", "b"] }) });
    const outcome = await reconcileWorkload(platform.ctx, noPlacement, "acme", "ranker", { signals });

    // Assess
    expect(await codeOf(response)).toBe("workload_scaling_up");
    expect(served.gateway.gatewayRequestRate(await platform.incarnation("acme", "ranker"))).toBe(1);
    expect(scaleUps).toContain("acme/ranker");
    expect(outcome?.desired).toBe(1);
  });

  it("a rate-limited call does not count; the admitted one does", async () => {
    // Act
    const admitted = await send("limited", "chat/completions", { body: chatBody });
    const limited = await send("limited", "chat/completions", { body: chatBody });

    // Assess
    expect(await codeOf(admitted)).toBe("workload_scaling_up");
    expect(await codeOf(limited)).toBe("rate_limit_exceeded");
    expect(served.gateway.gatewayRequestRate(await platform.incarnation("acme", "limited"))).toBe(1);
    expect(scaleUps.filter((w) => w === "acme/limited")).toEqual(["acme/limited"]);
  });

  it("a servable call counts, asks for a scale-up, and wakes the workload", async () => {
    // Act
    const response = await send("chat", "chat/completions", { body: chatBody });
    const outcome = await reconcileWorkload(platform.ctx, noPlacement, "acme", "chat", { signals });

    // Assess
    expect(await codeOf(response)).toBe("workload_scaling_up");
    expect(served.gateway.gatewayRequestRate(await platform.incarnation("acme", "chat"))).toBe(1);
    expect(scaleUps).toContain("acme/chat");
    expect(outcome?.desired).toBe(1);
  });

  it("a deleted slug's demand does not carry over to its re-creation", async () => {
    // Prepare: "chat" has demand (above); it is deleted, a late cold request of its former life is
    // recorded (a gateway instance still routing to it), and the slug is re-created.
    const former = await platform.incarnation("acme", "chat");
    await platform.remove("acme", "chat");
    await recordColdRequest(platform.ctx, "acme", "chat", former);
    await platform.workload("acme", { slug: "chat", ...AUTOSCALING });
    served.gateway.invalidate("acme", "chat");

    // Act
    const current = await platform.incarnation("acme", "chat");
    const outcome = await reconcileWorkload(platform.ctx, noPlacement, "acme", "chat", { signals });

    // Assess
    expect(current).not.toBe(former);
    expect(served.gateway.gatewayRequestRate(former)).toBe(1);
    expect(served.gateway.gatewayRequestRate(current)).toBe(0);
    expect(outcome?.desired).toBe(0);
  });
});
