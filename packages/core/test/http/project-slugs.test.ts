import { describe, expect, it } from "vitest";
import { bootstrapAdminToken, createControlApi, keys, MemoryStore, type PlatformContext } from "../../src";

const spec = { name: "Bot", slug: "bot", model: "m/m", backend: "vllm" };

async function setup() {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => new Date() };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await api(
      new Request(`http://local${path}`, {
        method,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  return { ctx, call };
}

describe("project slugs are DNS labels on every path", () => {
  it.each(["ACME X!", "a#WL#b", "line\nbreak", "-lead", "trail-", "x".repeat(64), "ümlaut"])(
    "an ensure that would create project %j implicitly is refused with a 400 naming `project`, and creates nothing",
    async (slug) => {
      // Prepare
      const { ctx, call } = await setup();

      // Act
      const answer = await call("PUT", `/v1/projects/${encodeURIComponent(slug)}/workloads/bot`, spec);

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("validation_failed");
      expect(answer.body.error.details[0]).toMatchObject({ path: "project", received: slug });
      expect(await ctx.store.get(keys.project(slug).pk, keys.project(slug).sk)).toBeUndefined();
    },
  );

  it("POST /v1/projects refuses the same slugs naming `slug`", async () => {
    const { call } = await setup();
    const answer = await call("POST", "/v1/projects", { slug: "a#WL#b" });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0]).toMatchObject({ path: "slug" });
  });

  it("a project stored with such a name before the check stays listable and deletable", async () => {
    // Prepare: what older code let in.
    const { ctx, call } = await setup();
    const legacy = "ACME X!";
    await ctx.store.put({ ...keys.project(legacy), data: { slug: legacy, name: legacy, created_at: "2026-11-01T00:00:00.000Z" } }, { kind: "absent" });

    // Act
    const listed = await call("GET", "/v1/projects");
    const deleted = await call("DELETE", `/v1/projects/${encodeURIComponent(legacy)}`);
    const after = await call("GET", "/v1/projects");

    // Assess
    expect(listed.body.data.map((p: { slug: string }) => p.slug)).toContain(legacy);
    expect(deleted).toMatchObject({ status: 200, body: { slug: legacy, deleted: true } });
    expect(after.body.data.map((p: { slug: string }) => p.slug)).not.toContain(legacy);
  });

  it("a project that still has workloads is not deleted (409, naming one); a missing one is 404", async () => {
    const { call } = await setup();
    await call("PUT", "/v1/projects/acme/workloads/bot", spec);

    const refused = await call("DELETE", "/v1/projects/acme");
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("bot");
    expect((await call("DELETE", "/v1/projects/missing")).status).toBe(404);
  });
});
