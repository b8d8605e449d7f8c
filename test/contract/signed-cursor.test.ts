import { bootstrapAdminToken, createControlApi, type PlatformContext, signCursor } from "@inferencekey/core";
import { beforeAll, describe, expect, it } from "vitest";
import { storeAdapters } from "../support/store-adapters";

/**
 * List cursors handed to clients are signed (HMAC with the server secret) and bound to their
 * listing: on every Store adapter a tampered, forged, foreign or raw store cursor is a 400
 * `validation_failed` at path `cursor`, never reaches the adapter, and never becomes a 500.
 */
const ADAPTERS = storeAdapters("cursor");

const spec = (slug: string) => ({ name: slug, slug, model: "org/model", backend: "vllm", execution_policy_config: { replicas: 0 } });

/** Flips one character of the MAC part, keeping it valid base64url. */
function flipMac(cursor: string): string {
  const last = cursor.at(-2) === "A" ? "B" : "A";
  return `${cursor.slice(0, -2)}${last}${cursor.at(-1)}`;
}

describe.each(ADAPTERS)("signed list cursors on $name", ({ make }) => {
  let ctx: PlatformContext;
  let get: (path: string) => Promise<{ status: number; body: { next_cursor?: string; data?: { slug: string }[]; error?: { code: string; details: { path: string }[] } } }>;
  let projectsCursor: string;
  let workloadsCursor: string;
  let eventsCursor: string;

  beforeAll(async () => {
    ctx = { store: await make(), serverSecret: "cursor-secret", now: () => new Date("2030-01-01T00:00:00Z") };
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
      return { status: response.status, body: await response.json() };
    };
    get = (path) => call("GET", path);
    for (const project of ["acme", "beta", "gamma"]) {
      for (const slug of ["w1", "w2", "w3"]) expect((await call("PUT", `/v1/projects/${project}/workloads/${slug}`, spec(slug))).status).toBe(201);
    }
    projectsCursor = (await get("/v1/projects?limit=1")).body.next_cursor as string;
    workloadsCursor = (await get("/v1/projects/acme/workloads?limit=1")).body.next_cursor as string;
    // A second event: the spec changes.
    expect((await call("PUT", "/v1/projects/acme/workloads/w1", { ...spec("w1"), name: "renamed" })).status).toBe(200);
    eventsCursor = (await get("/v1/projects/acme/workloads/w1/events?limit=1")).body.next_cursor as string;
  });

  it("a cursor the listing issued pages on", async () => {
    // Act
    const projects = await get(`/v1/projects?limit=1&cursor=${encodeURIComponent(projectsCursor)}`);
    const workloads = await get(`/v1/projects/acme/workloads?limit=5&cursor=${encodeURIComponent(workloadsCursor)}`);

    // Assess
    expect(projects.status).toBe(200);
    expect(projects.body.data?.length).toBe(1);
    expect(workloads.status).toBe(200);
    expect(workloads.body.data?.map((w) => w.slug)).toEqual(["w2", "w3"]);
    const events = await get(`/v1/projects/acme/workloads/w1/events?cursor=${encodeURIComponent(eventsCursor)}`);
    expect(events.status).toBe(200);
    expect(events.body.data?.length).toBeGreaterThan(0);
  });

  const tampered: { name: string; cursor: () => string; path: () => string }[] = [
    { name: "garbage", cursor: () => "not-a-cursor", path: () => "/v1/projects" },
    { name: "a flipped MAC", cursor: () => flipMac(projectsCursor), path: () => "/v1/projects" },
    { name: "the MAC cut off", cursor: () => projectsCursor.slice(0, projectsCursor.lastIndexOf(".")), path: () => "/v1/projects" },
    {
      name: "a changed store cursor with the old MAC",
      cursor: () => {
        const dot = projectsCursor.lastIndexOf(".");
        return `${Buffer.from(JSON.stringify({ pk: "ORG", sk: "PRJ#zzz" })).toString("base64url")}${projectsCursor.slice(dot)}`;
      },
      path: () => "/v1/projects",
    },
    { name: "one signed with another secret", cursor: () => signCursor("other-secret", "projects", "e30"), path: () => "/v1/projects" },
    { name: "another project's workloads cursor", cursor: () => workloadsCursor, path: () => "/v1/projects/beta/workloads" },
    { name: "a projects cursor on a workloads listing", cursor: () => projectsCursor, path: () => "/v1/projects/acme/workloads" },
    { name: "a flipped MAC on an events cursor", cursor: () => flipMac(eventsCursor), path: () => "/v1/projects/acme/workloads/w1/events" },
    { name: "another workload's events cursor", cursor: () => eventsCursor, path: () => "/v1/projects/acme/workloads/w2/events" },
    {
      name: "a forged key of another partition (what DynamoDB refuses with a ValidationException)",
      cursor: () => `${Buffer.from(JSON.stringify({ pk: "SECRET#x", sk: "SECRET" })).toString("base64url")}.AAAAAAAAAAAAAAAAAAAAAA`,
      path: () => "/v1/projects",
    },
  ];

  it.each(tampered)("$name is a 400 validation_failed at path cursor", async ({ cursor, path }) => {
    // Act
    const response = await get(`${path()}?cursor=${encodeURIComponent(cursor())}`);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body.error?.code).toBe("validation_failed");
    expect(response.body.error?.details[0]?.path).toBe("cursor");
  });
});
