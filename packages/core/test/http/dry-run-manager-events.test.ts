import { describe, expect, it } from "vitest";
import { bootstrapAdminToken, createControlApi, keys, MemoryStore, type PlatformContext } from "../../src";

const spec = { name: "Bot", slug: "bot", model: "m/a", backend: "vllm" };

async function setup() {
  let clock = Date.parse("2031-02-03T04:05:06Z");
  // Each reading moves the clock a second, so events written in one test have distinct times.
  const tick = () => {
    clock += 1000;
    return new Date(clock);
  };
  const ctx: PlatformContext = { store: new MemoryStore(() => clock), serverSecret: "s", now: tick };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await api(
      new Request(`http://local${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  return { ctx, call };
}

describe("ensure with dry_run=true", () => {
  it("says what would happen and writes nothing: a create, a change, no change, a refused drift", async () => {
    // Prepare
    const { ctx, call } = await setup();
    const url = "/v1/projects/acme/workloads/bot";

    // Act
    const wouldCreate = await call("PUT", `${url}?dry_run=true`, spec);
    const projectAfterPreview = await ctx.store.get(keys.project("acme").pk, keys.project("acme").sk);
    await call("PUT", url, spec);
    const wouldChange = await call("PUT", `${url}?dry_run=true`, { ...spec, model: "m/b" });
    const wouldKeep = await call("PUT", `${url}?dry_run=true`, spec);
    const wouldFail = await call("PUT", `${url}?dry_run=true&on_drift=fail`, { ...spec, model: "m/b" });
    const stored = await call("GET", url);

    // Assess
    expect(wouldCreate).toMatchObject({ status: 200, body: { dry_run: true, created: true, changed: true, generation: 1 } });
    expect(projectAfterPreview).toBeUndefined();
    expect(wouldChange.body).toMatchObject({ created: false, changed: true, generation: 2, differences: [{ path: "command", from: "vllm serve m/a", to: "vllm serve m/b" }, { path: "model", from: "m/a", to: "m/b" }] });
    expect(wouldKeep.body).toMatchObject({ created: false, changed: false, generation: 1, differences: [] });
    expect(wouldFail).toMatchObject({ status: 409, body: { error: { code: "drift_detected" } } });
    expect(stored.body).toMatchObject({ generation: 1, spec: { model: "m/a" } });
  });

  it("validates like a real ensure", async () => {
    const { call } = await setup();
    const answer = await call("PUT", "/v1/projects/acme/workloads/bot?dry_run=true", { ...spec, backend: "vlm" });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0]).toMatchObject({ path: "backend" });
  });
});

describe("the manager marker", () => {
  it("is stored on the record from X-InferenceKey-Manager, kept by later ensures, shown in the view, never in the spec", async () => {
    // Prepare
    const { call } = await setup();
    const url = "/v1/projects/acme/workloads/bot";

    // Act
    const created = await call("PUT", url, spec, { "x-inferencekey-manager": "cli" });
    const plain = await call("PUT", url, { ...spec, name: "Bot 2" });
    const unmanaged = await call("PUT", "/v1/projects/acme/workloads/other", { ...spec, slug: "other" });
    const adopted = await call("PUT", "/v1/projects/acme/workloads/other", { ...spec, slug: "other" }, { "x-inferencekey-manager": "cli" });
    const list = await call("GET", "/v1/projects/acme/workloads");
    const bad = await call("PUT", url, spec, { "x-inferencekey-manager": "Evil Tool!" });

    // Assess
    expect(created.body.workload.managed_by).toBe("cli");
    expect(created.body.workload.spec.managed_by).toBeUndefined();
    expect(plain.body.workload.managed_by).toBe("cli");
    expect(unmanaged.body.workload.managed_by).toBeUndefined();
    expect(adopted.body).toMatchObject({ changed: false, generation: 1, workload: { managed_by: "cli" } });
    expect(list.body.data.map((w: { slug: string; managed_by?: string }) => [w.slug, w.managed_by])).toEqual([
      ["bot", "cli"],
      ["other", "cli"],
    ]);
    expect(bad).toMatchObject({ status: 400, body: { error: { details: [{ path: "X-InferenceKey-Manager" }] } } });
  });
});

describe("GET .../events", () => {
  it("pages a workload's events newest first, with ids that order them", async () => {
    // Prepare: created, then two changes.
    const { call } = await setup();
    const url = "/v1/projects/acme/workloads/bot";
    await call("PUT", url, spec);
    await call("PUT", url, { ...spec, model: "m/b" });
    await call("PUT", url, { ...spec, model: "m/c" });

    // Act
    const first = await call("GET", `${url}/events?limit=2`);
    const second = await call("GET", `${url}/events?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    const missing = await call("GET", "/v1/projects/acme/workloads/nope/events");

    // Assess
    const events = [...first.body.data, ...second.body.data] as { id: string; type: string; message: string }[];
    expect(events.map((e) => e.type)).toEqual(["SpecUpdated", "SpecUpdated", "Created"]);
    expect(events[0]?.message).toContain("generation 3");
    const ids = events.map((e) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(second.body.next_cursor).toBeUndefined();
    expect(missing.status).toBe(404);
  });
});
