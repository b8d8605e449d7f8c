import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe } from "vitest";

export const REPO = resolve(import.meta.dirname, "../..");

/**
 * Where the product guide is looked for: INFERENCEKEY_GUIDE, else `../shared/seed/workloads-guide.md`
 * beside the repository (where CI lays it). It lives outside the repository, so a plain clone has none.
 */
export const GUIDE_PATH = resolve(REPO, process.env.INFERENCEKEY_GUIDE || "../shared/seed/workloads-guide.md");

/** Whether the guide is there; suites driven by it run only then (see `describeWithGuide`). */
export const GUIDE_PRESENT = existsSync(GUIDE_PATH);

/** Why guide-driven suites are skipped on this machine, in one line. */
export const GUIDE_SKIP_REASON = `skipped: the product guide is not at ${GUIDE_PATH} (it lives outside the repository; set INFERENCEKEY_GUIDE to run these)`;

/** The product guide's path; throws when absent (call it only inside `describeWithGuide`). */
export function guidePath(): string {
  if (!GUIDE_PRESENT) throw new Error(`the product guide is not at ${GUIDE_PATH}; set INFERENCEKEY_GUIDE`);
  return GUIDE_PATH;
}

/**
 * A suite that reads the guide: run where the guide is present, otherwise reported as skipped with
 * one visible line saying why (in its title and on stderr), so a clone with no `../shared` is green.
 */
export function describeWithGuide(title: string, suite: () => void): void {
  if (GUIDE_PRESENT) {
    describe(title, suite);
    return;
  }
  console.warn(`${title}: ${GUIDE_SKIP_REASON}`);
  describe.skip(`${title} (${GUIDE_SKIP_REASON})`, suite);
}

export interface GuideBlock {
  language: string;
  /** The heading path and the bold label above the block, e.g. "text2text / Provision (TypeScript)". */
  title: string;
  code: string;
}

export function guideBlocks(language: "ts" | "python"): GuideBlock[] {
  const text = readFileSync(guidePath(), "utf8");
  const blocks: GuideBlock[] = [];
  let section = "";
  let label = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.startsWith("## ")) section = line.slice(3).trim();
    const bold = /^\*\*(.+)\*\*$/.exec(line.trim());
    if (bold?.[1]) label = bold[1];
    const fence = /^```(\w+)/.exec(line);
    if (fence?.[1]) {
      const body: string[] = [];
      for (i++; i < lines.length && !(lines[i] ?? "").startsWith("```"); i++) body.push(lines[i] ?? "");
      if (fence[1] === language) blocks.push({ language, title: `${section} / ${label}`, code: body.join("\n") });
    }
  }
  return blocks;
}
