import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseDuration } from "../src/commands/workloads";
import { completionScript } from "../src/completion";
import { render } from "../src/output";

describe("output", () => {
  const rows = [
    { slug: "support-bot", ready: 1, tags: ["a", "b"] },
    { slug: "x", tags: [] },
  ];
  const columns: [string, (r: (typeof rows)[number]) => unknown][] = [
    ["SLUG", (r) => r.slug],
    ["READY", (r) => ("ready" in r ? r.ready : undefined)],
    ["TAGS", (r) => r.tags],
  ];

  it("a table aligns columns and shows a missing value as -", () => {
    expect(render("table", rows, columns)).toBe("SLUG         READY  TAGS\nsupport-bot  1      a,b\nx            -\n");
  });

  it("json and yaml carry the objects themselves", () => {
    expect(JSON.parse(render("json", rows, columns))).toEqual(rows);
    const [first] = rows;
    if (first === undefined) throw new Error("no row");
    expect(parse(render("yaml", first, columns))).toEqual(first);
  });

  it("durations take s, m, h and d, and nothing else", () => {
    expect([parseDuration("90s"), parseDuration("15m"), parseDuration("1h"), parseDuration("7d")]).toEqual([90_000, 900_000, 3_600_000, 604_800_000]);
    expect(() => parseDuration("1 hour")).toThrow(/not a duration/);
  });

  it("completion lists the commands and their options from the program itself", () => {
    const program = new Command("inferencekey").option("--project <name>");
    program.command("apply").option("--dry-run");
    program.command("keys").command("create");
    const script = completionScript(program, "bash");
    expect(script).toContain('"") candidates="apply keys --project --project"');
    expect(script).toContain('"apply") candidates="--dry-run --project"');
    expect(script).toContain('"keys") candidates="create --project"');
    expect(completionScript(program, "zsh")).toMatch(/^autoload -U \+X bashcompinit/);
    expect(() => completionScript(program, "fish")).toThrow(/bash and zsh/);
  });
});
