import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithGuide, GUIDE_PRESENT, guideBlocks, REPO } from "../support/guide";
import { type PlatformProcess, startPlatformProcess } from "../support/platform-process";

/**
 * Every TypeScript `ensure` example of the product guide runs unchanged against the local platform
 * (`npm start`'s entry point) with dev.env loaded. Allowed substitution: a registered worker's id for
 * `wrk_7Yc2...`. Blocks that use `mgmt` without declaring it (the policy variations) get the one
 * line the guide's provision blocks declare it with.
 */
const ensureBlocks = (GUIDE_PRESENT ? guideBlocks("ts") : []).filter((b) => b.code.includes("mgmt.ensure("));
const workDir = join(REPO, "node_modules/.cache/guide-e2e");

describeWithGuide("guide: TypeScript ensure examples on the local platform", () => {
  let platform: PlatformProcess;
  let workerId: string;

  beforeAll(async () => {
    platform = await startPlatformProcess();
    const mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    await fetch(`${platform.baseUrl}/v1/projects`, {
      method: "POST",
      headers: { authorization: `Bearer ${platform.sdkToken}`, "content-type": "application/json" },
      body: JSON.stringify({ slug: "acme" }),
    });
    workerId = (await mgmt.workers.register({ name: "gpu-box" })).id;
    mkdirSync(workDir, { recursive: true });
  });

  afterAll(async () => {
    await platform?.stop();
  });

  it("finds every ensure example of the guide (11 blocks, 17 ensure calls)", () => {
    expect(ensureBlocks).toHaveLength(11);
    expect(ensureBlocks.reduce((n, b) => n + b.code.split("mgmt.ensure(").length - 1, 0)).toBe(17);
  });

  it.each(ensureBlocks.map((b, i) => [i, b.title, b] as const))("example %i: %s", (index, _title, block) => {
    // Prepare: the block as pasted, with only the allowed substitution.
    let code = block.code.replaceAll("wrk_7Yc2...", workerId);
    if (!/const mgmt\s*=/.test(code)) {
      code = `import { ManagementClient } from "@inferencekey/sdk";\nconst mgmt = ManagementClient.fromEnv({ project: "acme" });\n${code}`;
    }
    const file = join(workDir, `example-${index}.mts`);
    writeFileSync(file, `${code}\n`);

    // Act
    const run = spawnSync(process.execPath, ["--import", "tsx", file], {
      cwd: REPO,
      env: { ...process.env, INFERENCEKEY_BASE_URL: platform.baseUrl, INFERENCEKEY_SDK_TOKEN: platform.sdkToken },
      encoding: "utf8",
      timeout: 60_000,
    });

    // Assess: it ran, and printed what the guide says it prints.
    expect(run.status, run.stderr).toBe(0);
    const promised = [...block.code.matchAll(/console\.log\([^)]*\);\s*\/\/\s*(.+)$/gm)].map((m) => m[1]?.trim());
    for (const line of promised) expect(run.stdout).toContain(line);
  });

  it("prints `acme support-bot` for the text2text provision example", () => {
    const first = ensureBlocks.find((b) => b.code.includes("console.log(ref.projectSlug, ref.workloadSlug)"));
    expect(first?.code).toContain("// acme support-bot");
  });
});
