import { describe, expect, it } from "vitest";
import {
  classify,
  extractTsBlocks,
  substitute,
  toModule,
  unsubstitute,
  wrapObjectStatements,
} from "./guide-blocks";

describe("guide blocks", () => {
  it("extracts only ```ts fences with their guide line", () => {
    // Prepare
    const markdown = ["# Guide", "```python", "x = 1", "```", "", "```ts", "const a = 1;", "```"].join("\n");

    // Act
    const blocks = extractTsBlocks(markdown);

    // Assess
    expect(blocks).toEqual([{ index: 1, line: 6, code: "const a = 1;" }]);
  });

  it("wraps top-level object statements, leaving braces in strings and nested objects alone", () => {
    // Prepare
    const code = '// a "{" in a comment\n{ name: "}", cfg: { replicas: 1 } }\n\n{ name: "b" }';

    // Act
    const wrapped = wrapObjectStatements(code);

    // Assess
    expect(wrapped).toBe(
      '// a "{" in a comment\nconst fragment1: EnsureSpec = { name: "}", cfg: { replicas: 1 } };\n\nconst fragment2: EnsureSpec = { name: "b" };',
    );
  });

  it("substitutes only the placeholders and can undo it", () => {
    // Prepare
    const code = 'apiKey: "ik_live_...", workerId: "wrk_7Yc2...", other: "..."';

    // Act
    const substituted = substitute(code);

    // Assess
    expect(substituted).toBe('apiKey: "ik_live_placeholder", workerId: "wrk_7Yc2placeholder", other: "..."');
    expect(unsubstitute(substituted)).toBe(code);
  });

  it("classifies blocks and declares only what a fragment leaves undeclared", () => {
    // Prepare
    const policy =
      'import { Backend } from "@inferencekey/sdk";\nconst base = { backend: Backend.Vllm };\nawait mgmt.ensure({ ...base });';

    // Act
    const module = toModule({ index: 1, line: 1, code: policy });

    // Assess
    expect(module.kind).toBe("ensure");
    expect(module.preamble).toBe(
      'import type { ManagementClient } from "@inferencekey/sdk";\ndeclare const mgmt: ManagementClient;',
    );
    expect(classify('import { DataClient } from "@inferencekey/sdk";')).toBe("data-client");
    expect(classify('import OpenAI from "openai";')).toBe("openai");
    expect(classify("// c\n{ name: 1 }")).toBe("spec-fragment");
  });
});
