import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { CliError } from "../src/errors";
import { loadManifests } from "../src/manifest";

const noStdin = () => {
  throw new Error("stdin not expected");
};

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "ik-manifest-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("loadManifests", () => {
  it("reads several documents per file, a directory's spec files by name, JSON and standard input", () => {
    // Prepare
    const dir = folder({
      "b.yaml": "name: B\nslug: b\nmodel: m/b\nbackend: vllm\n---\nname: C\nslug: c\nmodel: m/c\nbackend: sglang\n---\n",
      "a.json": JSON.stringify({ name: "A", slug: "a", model: "m/a", backend: "ollama" }),
      "notes.txt": "not a spec",
    });

    // Act
    const fromDir = loadManifests([dir], noStdin);
    const fromStdin = loadManifests(["-"], () => "name: D\nslug: d\nmodel: m/d\nbackend: vllm\n");

    // Assess
    expect(fromDir.problems).toEqual([]);
    expect(fromDir.documents.map((d) => d.spec.slug)).toEqual(["a", "b", "c"]);
    expect(fromDir.documents[2]?.where).toBe(`${join(dir, "b.yaml")}:6:1`);
    expect(fromStdin.documents.map((d) => d.where)).toEqual(["<stdin>:1:1"]);
  });

  it("reads string fields as written: an unquoted 0.10 is refused with a quoting hint at its line and column", () => {
    const dir = folder({ "x.yaml": "name: X\nslug: x\nmodel: m/x\nbackend: vllm\nvllm_version: 0.10\n" });
    const { documents, problems } = loadManifests([join(dir, "x.yaml")], noStdin);
    expect(documents).toEqual([]);
    expect(problems).toEqual([
      {
        where: `${join(dir, "x.yaml")}:5:15`,
        field: "vllm_version",
        message: 'vllm_version must be a string, got a number (YAML reads 0.10 as number 0.1); quote it: "0.10"',
      },
    ]);
  });

  it("reports every problem of every document at once, with the field and a suggestion", () => {
    const dir = folder({
      "bad.yaml": "name: A\nslug: a\nmodel: m/a\nbackend: vllm\ntaskType: text2text\n---\nname: B\nslug: a\nmodel: m/b\nbackend: vlm\n---\n- a list\n",
      "broken.yaml": "name: [unclosed\n",
      "dup.yaml": "name: D\nname: E\n",
    });
    const { problems } = loadManifests([dir], noStdin);
    const text = problems.map((p) => `${p.where.replace(`${dir}/`, "")} ${p.field}: ${p.message}`);
    expect(text).toEqual([
      expect.stringMatching(/^bad\.yaml:5:11 taskType: unknown field "taskType"; did you mean "task_type"\?$/),
      expect.stringMatching(/^bad\.yaml:10:10 backend: /),
      expect.stringMatching(/^bad\.yaml:12:1 : a document must be one workload spec/),
      expect.stringMatching(/^broken\.yaml:\d+:\d+ : /),
      expect.stringMatching(/^dup\.yaml:2:1 : Map keys must be unique/),
    ]);
  });

  it("refuses a slug declared twice, and a path that does not exist", () => {
    const dir = folder({ "a.yaml": "name: A\nslug: a\nmodel: m/a\nbackend: vllm\n", "b.yaml": "name: B\nslug: a\nmodel: m/b\nbackend: vllm\n" });
    expect(loadManifests([dir], noStdin).problems).toEqual([
      { where: `${join(dir, "b.yaml")}:1:1`, field: "slug", message: `slug "a" is declared twice (first at ${join(dir, "a.yaml")}:1:1)` },
    ]);
    expect(() => loadManifests([join(dir, "missing.yaml")], noStdin)).toThrow(CliError);
  });

  it("property: any valid spec written as YAML loads back as the same spec, wherever it sits in the file", () => {
    const slug = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/);
    const spec = fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
      slug,
      model: fc.stringMatching(/^[a-z0-9]{1,10}\/[A-Za-z0-9.-]{1,20}$/),
      backend: fc.constant("vllm"),
      task_type: fc.constantFrom("text2text", "embedding"),
      vllm_version: fc.option(fc.constantFrom("0.10", "0.8.5", "1.0", "0.10.1rc1"), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(spec, { selector: (s) => s.slug, minLength: 1, maxLength: 4 }), (specs) => {
        const clean = specs.map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)));
        const { documents, problems } = loadManifests(["-"], () => clean.map((s) => stringify(s)).join("---\n"));
        expect(problems).toEqual([]);
        expect(documents.map((d) => d.spec)).toEqual(clean);
      }),
      { numRuns: 200 },
    );
  });
});
