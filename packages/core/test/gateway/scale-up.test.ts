import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, FakeClock, type ReplicaProcess, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startReplica, stopAllReplicas, TestPlatform } from "./support";

const AUTOSCALING = {
  execution_policy: "autoscaling" as const,
  execution_policy_config: {
    min_workers: 0,
    max_workers: 2,
    max_hourly_cost_usd: 5,
    workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80GB"] } },
  },
};

interface ErrorBody {
  error: { code: string; message: string; type: string; next_opening_at?: string };
}

describe.each(GATEWAY_BINDINGS)("gateway: no ready replica ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  const scaleUps: string[] = [];
  let replica: ReplicaProcess;
  let served: ServedGateway;
  const keys = new Map<string, string>();

  beforeAll(async () => {
    await platform.workload("acme", { slug: "auto", ...AUTOSCALING });
    await platform.workload("acme", { slug: "held", ...AUTOSCALING });
    await platform.workload("acme", { slug: "stopped", execution_policy: "fixed", execution_policy_config: { replicas: 0 } });
    for (const slug of ["auto", "held", "stopped"]) keys.set(slug, (await platform.key("acme", slug)).secret);
    replica = await startReplica({ id: platform.replicaIdFor("acme", "held"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "held", { port: replica.port, phase: "starting" });
    served = await serveGateway(platform, {
      requestScaleUp: (project, workload) => {
        scaleUps.push(`${project}/${workload}`);
      },
      scaleUpPollMs: 100,
    }, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  const chat = (workload: string, headers: Record<string, string> = {}) =>
    fetch(`${served.url}/endpoint/acme/${workload}/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(keys.get(workload) ?? ""), "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "wake up" }] }),
    });

  it("scaled to zero: asks the controller at once and answers 503 workload_scaling_up with a short Retry-After", async () => {
    // Act
    const first = await chat("auto");
    const second = await chat("auto");
    const body = (await first.json()) as ErrorBody;

    // Assess
    expect(first.status).toBe(503);
    expect(body.error.code).toBe("workload_scaling_up");
    expect(body.error.message).toContain("X-Scale-Up-Timeout");
    // No cold start of this workload seen yet: about a second, in whole seconds and in milliseconds.
    expect(first.headers.get("retry-after")).toBe("1");
    expect(Number(first.headers.get("retry-after-ms"))).toBeGreaterThanOrEqual(250);
    expect(Number(first.headers.get("retry-after-ms"))).toBeLessThanOrEqual(1000);
    expect(second.status).toBe(503);
    // Called at once, then debounced (at most every 5 s per workload).
    expect(scaleUps.filter((w) => w === "acme/auto")).toEqual(["acme/auto"]);
  });

  it("X-Scale-Up-Timeout holds a request at zero replicas until one is ready", async () => {
    // Prepare: the replica turns ready 800 ms from now.
    const started = performance.now();
    setTimeout(() => void platform.setPhase("acme", "held", 0, "ready"), 800);

    // Act
    const response = await chat("held", { "x-scale-up-timeout": "10" });
    const elapsed = performance.now() - started;
    const body = (await response.json()) as { choices: { message: { content: string } }[] };

    // Assess
    expect(response.status).toBe(200);
    expect(body.choices[0]?.message.content).toBe("echo(test-model): wake up");
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(5000);
    expect(scaleUps).toContain("acme/held");
  });

  it("a held request gives up after its timeout with 503 workload_scaling_up", async () => {
    // Act
    const started = performance.now();
    const response = await chat("auto", { "x-scale-up-timeout": "0.5" });
    const elapsed = performance.now() - started;

    // Assess
    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorBody).error.code).toBe("workload_scaling_up");
    expect(elapsed).toBeGreaterThanOrEqual(450);
  });

  it("counts the requests it holds at once: the autoscaler reads the peak since its last read", async () => {
    // Act: three requests held together, then a read while they wait, then a read after they gave up.
    const waiting = [1, 2, 3].map(() => chat("auto", { "x-scale-up-timeout": "0.6" }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = served.gateway.heldRequests("acme", "auto");
    const responses = await Promise.all(waiting);
    const afterGivingUp = served.gateway.heldRequests("acme", "auto");
    const next = served.gateway.heldRequests("acme", "auto");

    // Assess
    expect(responses.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(during).toBe(3);
    expect(afterGivingUp).toBe(3);
    expect(next).toBe(0);
    // A request that is not held (no header) is not counted.
    await chat("auto");
    expect(served.gateway.heldRequests("acme", "auto")).toBe(0);
  });

  it("a malformed X-Scale-Up-Timeout is a 400", async () => {
    const response = await chat("auto", { "x-scale-up-timeout": "soon" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.code).toBe("invalid_scale_up_timeout");
  });

  it("a workload fixed at 0 replicas answers 503 workload_stopped without asking for a scale-up", async () => {
    const response = await chat("stopped");
    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorBody).error.code).toBe("workload_stopped");
    expect(scaleUps).not.toContain("acme/stopped");
  });

  it("models is answered without a replica, from the spec", async () => {
    const response = await fetch(`${served.url}/endpoint/acme/auto/v1/models`, { headers: bearer(keys.get("auto") ?? "") });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ object: "list", data: [{ id: "test-model" }] });
  });
});

describe.each(GATEWAY_BINDINGS)("gateway: a replica becoming ready reaches held and later requests at once ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  let replica: ReplicaProcess;
  let served: ServedGateway;
  let key: string;

  beforeAll(async () => {
    await platform.workload("acme", { slug: "waking", ...AUTOSCALING });
    key = (await platform.key("acme", "waking")).secret;
    replica = await startReplica({ id: platform.replicaIdFor("acme", "waking"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "waking", { port: replica.port, phase: "starting" });
    // Polls so rare that only invalidate() can explain a quick answer; a route cached for a minute.
    served = await serveGateway(platform, { scaleUpPollMs: 30_000, routeCache: { ttlMs: 60_000 } }, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  const chat = (headers: Record<string, string> = {}) =>
    fetch(`${served.url}/endpoint/acme/waking/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "wake up" }] }),
    });

  it("a held request is answered as soon as the workload is invalidated, not at the next poll", async () => {
    // Prepare: the replica turns ready 400 ms from now and the control plane says so.
    const started = performance.now();
    setTimeout(() => {
      void platform.setPhase("acme", "waking", 0, "ready").then(() => served.gateway.invalidate("acme", "waking"));
    }, 400);

    // Act
    const response = await chat({ "x-scale-up-timeout": "20" });
    const elapsed = performance.now() - started;

    // Assess
    expect(response.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(2_000);
  });

  it("invalidate drops the cached route: a replica gone back to starting is seen by the next request", async () => {
    // Prepare: the route with a ready replica is cached (for a minute).
    expect((await chat()).status).toBe(200);
    await platform.setPhase("acme", "waking", 0, "starting");
    expect((await chat()).status).toBe(200);

    // Act
    served.gateway.invalidate("acme", "waking");
    const response = await chat();

    // Assess: Retry-After follows the last cold start this gateway saw (~400 ms), not a fixed wait.
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const retryAfterMs = Number(response.headers.get("retry-after-ms"));
    expect(retryAfterMs).toBeGreaterThanOrEqual(250);
    expect(retryAfterMs).toBeLessThan(1_000);
  });
});

describe.each(GATEWAY_BINDINGS)("gateway: a scheduled workload outside its window ($binding binding)", ({ binding }) => {
  // Saturday 6 June 2026, 12:00 UTC: the Mon-Fri window is closed until Monday 08:00 Madrid (06:00 UTC).
  const clock = new FakeClock(new Date("2026-06-06T12:00:00Z"));
  const platform = new TestPlatform(clock.now);
  const scaleUps: string[] = [];
  let served: ServedGateway;
  let key: string;

  beforeAll(async () => {
    await platform.workload("acme", {
      slug: "office",
      execution_policy: "scheduled",
      execution_policy_config: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" },
    });
    key = (await platform.key("acme", "office")).secret;
    served = await serveGateway(platform, { requestScaleUp: (p, w) => void scaleUps.push(`${p}/${w}`) }, binding);
  });

  afterAll(async () => {
    await served?.close();
  });

  it("answers 503 workload_outside_window with the next opening in the message and a field", async () => {
    // Act
    const response = await fetch(`${served.url}/endpoint/acme/office/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json", "x-scale-up-timeout": "30" },
      body: "{}",
    });
    const body = (await response.json()) as ErrorBody;

    // Assess
    expect(response.status).toBe(503);
    expect(body.error.code).toBe("workload_outside_window");
    expect(body.error.message).toContain("opens Mon 08:00 Europe/Madrid");
    expect(body.error.next_opening_at).toBe("2026-06-08T06:00:00.000Z");
    expect(Number(response.headers.get("retry-after"))).toBe(42 * 3600);
    expect(scaleUps).toEqual([]);
  });
});
