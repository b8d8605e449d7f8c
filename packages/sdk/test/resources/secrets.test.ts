import { describe, expect, it } from "vitest";
import { ManagementClient, ValidationError } from "../../src";
import { fakeFetch, jsonResponse, wireError } from "../helpers/fake-fetch";
import { BASE_URL, TOKEN } from "../helpers/fixtures";

const INFO = { name: "HF_TOKEN", created_at: "2026-12-02T10:00:00.000Z", updated_at: "2026-12-02T11:00:00.000Z" };

function mgmt(fetch: ReturnType<typeof fakeFetch>) {
  return new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch });
}

describe("secrets", () => {
  it("set PUTs the value under the name and returns name and times in camelCase", async () => {
    const fetch = fakeFetch(jsonResponse(201, INFO));

    const secret = await mgmt(fetch).secrets.set("HF_TOKEN", "hf_value");

    expect(fetch.calls[0]?.method).toBe("PUT");
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/secrets/HF_TOKEN`);
    expect(fetch.calls[0]?.body).toEqual({ value: "hf_value" });
    expect(secret).toEqual({ name: "HF_TOKEN", createdAt: INFO.created_at, updatedAt: INFO.updated_at });
  });

  it("list GETs the names; delete DELETEs one", async () => {
    const fetch = fakeFetch(jsonResponse(200, { data: [INFO] }), jsonResponse(200, { name: "HF_TOKEN", deleted: true }));
    const client = mgmt(fetch);

    const listed = await client.secrets.list();
    const deleted = await client.secrets.delete("HF_TOKEN");

    expect(fetch.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      `GET ${BASE_URL}/v1/projects/acme/secrets`,
      `DELETE ${BASE_URL}/v1/projects/acme/secrets/HF_TOKEN`,
    ]);
    expect(listed).toEqual([{ name: "HF_TOKEN", createdAt: INFO.created_at, updatedAt: INFO.updated_at }]);
    expect(deleted).toEqual({ name: "HF_TOKEN", deleted: true });
  });

  it("a refused name surfaces as a ValidationError naming the field", async () => {
    const fetch = fakeFetch(
      wireError(400, "validation_failed", "\"PATH\" cannot name a project secret.", { details: [{ path: "name", message: "PATH is set by the agent for every backend" }] }),
    );

    const error = await mgmt(fetch).secrets.set("PATH", "x").catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details[0]).toMatchObject({ path: "name" });
  });
});
