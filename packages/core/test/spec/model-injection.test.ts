import { describe, expect, it } from "vitest";
import {
  authenticateSdkToken,
  bootstrapAdminToken,
  type Compute,
  createProject,
  defaultCommand,
  ensureWorkload,
  getWorkload,
  keys,
  MemoryStore,
  type PlatformContext,
  reconcileAll,
  ValidationError,
  validateSpec,
  type WorkloadRecord,
} from "../../src";

const base = { name: "Bot", slug: "bot", backend: "vllm" };
// biome-ignore lint/suspicious/noTemplateCurlyInString: the review's payload, verbatim; `${IFS}` is shell syntax
const INJECTION = "x;echo${IFS}INJECTED>file;#";

describe("issue 11.6: no shell injection through `model`", () => {
  it("refuses a model holding shell syntax, naming the field", () => {
    // Act
    const error = (() => {
      try {
        validateSpec({ ...base, model: INJECTION });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details.map((d) => d.path)).toEqual(["model"]);
  });

  it.each(["meta-llama/Llama-3.1-8B-Instruct", "llama3.2:1b", "hf.co/org/repo:Q4_K_M", "/models/llama-3.1-8b", "Qwen/Qwen2.5-0.5B-Instruct@main"])(
    "still accepts the model name %s",
    (model) => {
      expect(validateSpec({ ...base, model }).model).toBe(model);
    },
  );

  it.each(["x y", "a'b", 'a"b', "$(id)", "a|b", "a&b", "a>b", "`id`", "a\nb", "-rf"])("refuses %j", (model) => {
    expect(() => validateSpec({ ...base, model })).toThrow(ValidationError);
  });

  it("default commands quote the model, so even a stored hostile model stays one argument", () => {
    expect(defaultCommand("vllm", INJECTION)).toBe(`vllm serve 'x;echo\${IFS}INJECTED>file;#'`);
    expect(defaultCommand("sglang", "it's")).toBe(`python -m sglang.launch_server --model-path 'it'\\''s'`);
    expect(defaultCommand("vllm", "org/name:tag")).toBe("vllm serve org/name:tag");
  });
});

describe("issue 11.6: a stored spec that no longer validates", () => {
  async function world() {
    const ctx: PlatformContext = { store: new MemoryStore(() => Date.parse("2030-01-01T00:00:00Z")), serverSecret: "s", now: () => new Date("2030-01-01T00:00:00Z") };
    const admin = await authenticateSdkToken(ctx, `Bearer ${(await bootstrapAdminToken(ctx))?.secret}`);
    await createProject(ctx, admin, { slug: "acme" });
    await ensureWorkload(ctx, admin, "acme", { ...base, model: "org/model" });
    return { ctx, admin };
  }

  /** What an older platform stored: a model (and command) today's rules refuse, or a cron no parser reads. */
  async function corrupt(ctx: PlatformContext, change: (record: WorkloadRecord) => WorkloadRecord): Promise<void> {
    const key = keys.workload("acme", "bot");
    const item = await ctx.store.get(key.pk, key.sk);
    await ctx.store.put({ ...key, data: { ...change(item?.data as unknown as WorkloadRecord) } }, { kind: "any" });
  }

  it("is shown with an Accepted=False condition saying why, and the tick runs nothing for it", async () => {
    // Prepare
    const { ctx, admin } = await world();
    await corrupt(ctx, (r) => ({ ...r, spec: { ...r.spec, model: INJECTION, command: `vllm serve ${INJECTION}` } }));
    const compute: Compute = { placeCloudReplica: async () => ({ unavailable: "none here" }) };

    // Act
    const outcomes = await reconcileAll(ctx, compute);
    const view = await getWorkload(ctx, admin, "acme", "bot");

    // Assess
    expect(outcomes).toEqual([expect.objectContaining({ workload: "bot", desired: 0, actions: [] })]);
    expect(view.status.conditions[0]).toMatchObject({ type: "Accepted", status: "False", reason: "SpecInvalid" });
    expect(view.status.conditions[0]?.message).toMatch(/model/);
    expect(view.status.desired_replicas).toBe(0);
    expect(view.status.events.some((e) => e.type === "SpecInvalid")).toBe(true);
  });

  it("an unparseable stored schedule does not crash the tick or the view", async () => {
    // Prepare
    const { ctx, admin } = await world();
    await corrupt(ctx, (r) => ({ ...r, spec: { ...r.spec, execution_policy: "scheduled", execution_policy_config: { cron: "not a cron", replicas: 1 } } as WorkloadRecord["spec"] }));

    // Act
    const outcomes = await reconcileAll(ctx, { placeCloudReplica: async () => ({ unavailable: "none here" }) });
    const view = await getWorkload(ctx, admin, "acme", "bot");

    // Assess
    expect(outcomes[0]?.decision).toMatch(/stored spec is invalid/);
    expect(view.status.conditions[0]).toMatchObject({ status: "False", reason: "SpecInvalid" });
  });
});
