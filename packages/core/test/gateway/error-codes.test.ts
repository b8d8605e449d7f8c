import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GATEWAY_ERROR_STATUS } from "../../src/gateway";
import { REPO_ROOT } from "./support";

interface ErrorVector {
  name: string;
  plane: "control" | "data";
  status: number;
  body?: { error?: { code?: unknown; type?: unknown } };
  expected: { code: string; class: { python: string; typescript?: string } };
}

const vectors = (JSON.parse(readFileSync(join(REPO_ROOT, "test/vectors/errors.json"), "utf8")) as { vectors: ErrorVector[] }).vectors;
const gatewaySources = () => {
  const dir = join(REPO_ROOT, "packages/core/src/gateway");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".ts"))
    .map((name) => readFileSync(join(dir, name), "utf8"))
    .join("\n");
};

describe("data-plane error codes", () => {
  it("every code the gateway can answer has a wire vector with its status, and every gateway vector a known code", () => {
    // Prepare
    const fromGateway = vectors.filter((v) => v.plane === "data" && typeof v.body?.error?.code === "string");
    const vectorStatus = Object.fromEntries(fromGateway.map((v) => [v.expected.code, v.status]));

    // Assess
    expect(vectorStatus).toEqual(GATEWAY_ERROR_STATUS);
  });

  it("every `new GatewayError(status, code` in the gateway uses the status of the table", () => {
    // Prepare: the throw sites, whether written on one line or several.
    const sites = [...gatewaySources().matchAll(/new GatewayError\(\s*(\d{3}),\s*"([a-z_]+)"/g)].map((m) => [m[2], Number(m[1])] as const);

    // Assess
    expect(sites.length).toBeGreaterThan(20);
    for (const [code, status] of sites) expect({ code, status }).toEqual({ code, status: GATEWAY_ERROR_STATUS[code as keyof typeof GATEWAY_ERROR_STATUS] });
  });

  it("each status maps to one SDK class, except the three 503 conditions a caller acts on and the jobs API's codes", () => {
    // Prepare
    const classOf = new Map<string, string>();
    for (const v of vectors.filter((x) => x.plane === "data" && typeof x.body?.error?.code === "string")) {
      const special = [
        "workload_scaling_up",
        "workload_outside_window",
        "workload_failed",
        "validation_failed",
        "job_not_found",
        "idempotency_key_reused",
        "job_not_cancellable",
      ].includes(v.expected.code);
      const key = special ? `${v.status} ${v.expected.code}` : String(v.status);
      const name = `${v.expected.class.python}/${v.expected.class.typescript}`;
      // Assess: both SDKs agree, and one status never maps to two classes.
      expect(v.expected.class.python).toBe(v.expected.class.typescript);
      expect(classOf.get(key) ?? name, `${v.name}`).toBe(name);
      classOf.set(key, name);
    }
    expect(classOf.get("503 workload_failed")).toBe("WorkloadFailedError/WorkloadFailedError");
    expect(classOf.get("503 workload_outside_window")).toBe("WorkloadOutsideWindowError/WorkloadOutsideWindowError");
    expect(classOf.get("503 workload_scaling_up")).toBe("WorkloadScalingUpError/WorkloadScalingUpError");
    expect(classOf.get("400 validation_failed")).toBe("ValidationError/ValidationError");
    expect(classOf.get("404 job_not_found")).toBe("JobNotFoundError/JobNotFoundError");
    expect(classOf.get("409 idempotency_key_reused")).toBe("IdempotencyKeyReusedError/IdempotencyKeyReusedError");
    expect(classOf.get("409 job_not_cancellable")).toBe("JobNotCancellableError/JobNotCancellableError");
  });
});
