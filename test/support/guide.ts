import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");

/** The product guide: `../shared/seed/workloads-guide.md` beside the repository (INFERENCEKEY_GUIDE overrides). */
export function guidePath(): string {
  const path = process.env.INFERENCEKEY_GUIDE ?? resolve(REPO, "../shared/seed/workloads-guide.md");
  if (!existsSync(path)) throw new Error(`the product guide is not at ${path}; set INFERENCEKEY_GUIDE`);
  return path;
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
