import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, expect, it } from "vitest";
import { describeWithGuide, GUIDE_PRESENT, guidePath } from "../support/guide";
import { extractTsBlocks, FRAGMENT_PREFIX, type GuideModule, toModule, unsubstitute } from "./guide-blocks";

/**
 * Every ```ts block of the workloads guide must compile against `@inferencekey/sdk` with the
 * repository's strict compiler options: the guide's names and shapes are a contract with users.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = path.join(repoRoot, "node_modules/.cache/guide-typecheck");

/**
 * Guide lines that do not compile for reasons outside the SDK, keyed by the line as written, with
 * the exact diagnostics expected. Each is reported upstream; when the guide is fixed the test
 * fails and the entry must go.
 */
const KNOWN_GUIDE_DEFECTS: Record<string, { codes: number[]; reason: string }> = {
  "console.log(img.data[0].url);": {
    codes: [18048, 2532],
    reason: "openai's ImagesResponse.data is optional, so strict TypeScript needs img.data?.[0]?.url",
  },
};

const markdown = GUIDE_PRESENT ? readFileSync(guidePath(), "utf8") : "";
const modules = extractTsBlocks(markdown).map(toModule);

/** Counted independently of the extractor: fences whose body calls ensure(). */
const ensureBlocksInGuide = markdown
  .split("```ts\n")
  .slice(1)
  .filter((chunk) => (chunk.split("```")[0] ?? "").includes(".ensure(")).length;

/** Counted independently of the extractor: fences whose body uses DataClient. */
const dataClientBlocksInGuide = markdown
  .split("```ts\n")
  .slice(1)
  .filter((chunk) => /\bDataClient\b/.test(chunk.split("```")[0] ?? "")).length;

function compilerOptions(): ts.CompilerOptions {
  const configPath = path.join(repoRoot, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot, undefined, configPath);
  return {
    ...parsed.options,
    noEmit: true,
    paths: { "@inferencekey/sdk": [path.join(repoRoot, "packages/sdk/src/index.ts")] },
  };
}

function fileOf(module: GuideModule): string {
  return path.join(
    outDir,
    `block-${String(module.block.index).padStart(2, "0")}-line-${module.block.line}.ts`,
  );
}

interface Problem {
  code: number;
  /** The offending source line, trimmed. */
  at: string;
  message: string;
}

function problemOf(diagnostic: ts.Diagnostic): Problem {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
  if (diagnostic.file === undefined || diagnostic.start === undefined)
    return { code: diagnostic.code, at: "", message };
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return { code: diagnostic.code, at: diagnostic.file.text.split("\n")[line]?.trim() ?? "", message };
}

function knownDefectsIn(module: GuideModule): Array<{ at: string; code: number }> {
  return Object.entries(KNOWN_GUIDE_DEFECTS)
    .filter(([at]) => module.body.split("\n").some((line) => line.trim() === at))
    .flatMap(([at, defect]) => defect.codes.map((code) => ({ at, code })));
}

const problemsByFile = new Map<string, Problem[]>();

/** Must fail to compile: proves the harness resolves the real SDK types and reports errors. */
const NEGATIVE_CONTROL = toModule({
  index: 0,
  line: 0,
  code: [
    'import { Backend } from "@inferencekey/sdk";',
    "await mgmt.ensure({",
    '  name: "Bad", slug: "bad", model: "m", backend: Backend.Vllm,',
    '  executionPolicy: "autoscaling",',
    "  executionPolicyConfig: { min_replicas: 0, max_replicas: 2 },",
    "});",
  ].join("\n"),
});
const negativeControlFile = path.join(outDir, "negative-control.ts");

/** Must fail too: the data half's options are checked, so a snake_case `max_tokens` is caught. */
const DATA_NEGATIVE_CONTROL = toModule({
  index: 0,
  line: 0,
  code: [
    'import { DataClient } from "@inferencekey/sdk";',
    'const data = DataClient.fromEnv({ project: "acme" });',
    'const ep = data.endpoint("support-bot", { apiKey: "ik_live_..." });',
    'const out = await ep.generateText({ prompt: "Hi", max_tokens: 300 });',
    "console.log(out.text);",
  ].join("\n"),
});
const dataNegativeControlFile = path.join(outDir, "negative-control-data.ts");


describeWithGuide("workloads guide: TypeScript blocks type-check", () => {
  beforeAll(() => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    for (const module of modules) writeFileSync(fileOf(module), module.source);
    writeFileSync(negativeControlFile, NEGATIVE_CONTROL.source);
    writeFileSync(dataNegativeControlFile, DATA_NEGATIVE_CONTROL.source);
    const controls = [negativeControlFile, dataNegativeControlFile];
    const program = ts.createProgram([...modules.map(fileOf), ...controls], compilerOptions());
    for (const file of controls) {
      const control = program.getSourceFile(file);
      if (control !== undefined)
        problemsByFile.set(file, program.getSemanticDiagnostics(control).map(problemOf));
    }
    for (const module of modules) {
      const sourceFile = program.getSourceFile(fileOf(module));
      if (sourceFile === undefined) throw new Error(`compiler did not load ${fileOf(module)}`);
      const diagnostics = [
        ...program.getSyntacticDiagnostics(sourceFile),
        ...program.getSemanticDiagnostics(sourceFile),
      ];
      problemsByFile.set(fileOf(module), diagnostics.map(problemOf));
    }
  }, 120_000);

  it("finds the guide's blocks and classifies every one", () => {
    // Prepare
    const kinds = modules.map((m) => m.kind);

    // Act
    const ensureChecked = kinds.filter((k) => k === "ensure").length;

    // Assess
    expect(modules.length).toBeGreaterThan(0);
    expect(kinds).not.toContain("other");
    expect(ensureBlocksInGuide).toBeGreaterThan(0);
    expect(ensureChecked).toBe(ensureBlocksInGuide);
    expect(kinds.filter((k) => k === "data-client")).toHaveLength(dataClientBlocksInGuide);
    expect(dataClientBlocksInGuide).toBeGreaterThan(0);
  });

  it("reports errors: a spec with min_replicas does not compile", () => {
    // Prepare
    const file = negativeControlFile;

    // Act
    const problems = problemsByFile.get(file) ?? [];

    // Assess
    expect(problems.map((p) => p.code)).toEqual([2353]);
    expect(problems[0]?.message).toContain("min_replicas");
  });

  it("reports errors: generateText with snake_case max_tokens does not compile", () => {
    // Prepare
    const file = dataNegativeControlFile;

    // Act
    const problems = problemsByFile.get(file) ?? [];

    // Assess
    expect(problems.map((p) => p.code)).toEqual([2561]);
    expect(problems[0]?.message).toContain("Did you mean to write 'maxTokens'?");
  });

  it("changes each block only by the allowed substitutions and fragment wrapping", () => {
    // Prepare
    const restore = (m: GuideModule) =>
      unsubstitute(m.body.replace(FRAGMENT_PREFIX, "").replace(/\};/g, "}"));

    // Act
    const changed = modules.filter((m) => restore(m) !== m.block.code.replace(/\};/g, "}"));

    // Assess
    expect(changed.map((m) => m.block.line)).toEqual([]);
    expect(modules.every((m) => m.source.includes(m.body))).toBe(true);
  });

  for (const module of modules) {
    const { index, line } = module.block;
    const title = `block ${index} (guide line ${line}, ${module.kind})`;
    const known = knownDefectsIn(module);
    const reasons = [...new Set(known.map((k) => KNOWN_GUIDE_DEFECTS[k.at]?.reason))].join("; ");
    const suffix = known.length === 0 ? "compiles" : `compiles except a known guide defect (${reasons})`;
    it(`${title} ${suffix}`, () => {
      // Prepare
      const file = fileOf(module);

      // Act
      const problems = problemsByFile.get(file) ?? [];

      // Assess
      expect(
        problems.map(({ at, code }) => ({ at, code })),
        `${file}\n${module.source}\n${problems.map((p) => `TS${p.code} at "${p.at}": ${p.message}`).join("\n")}`,
      ).toEqual(known);
    });
  }
});
