/**
 * Turns the ```ts blocks of the workloads guide into modules that can be type-checked. The guide
 * is a contract with users, so the code is kept as written: the only edits are the allowed
 * placeholder substitutions, a preamble declaring what a fragment uses but does not declare, and,
 * for fragments that are bare spec objects, `const fragmentN: EnsureSpec = ...;` around each object.
 */

export interface GuideBlock {
  /** 1-based position among the guide's ```ts blocks. */
  index: number;
  /** 1-based line of the opening fence in the guide. */
  line: number;
  code: string;
}

export type BlockKind = "data-client" | "openai" | "ensure" | "spec-fragment" | "other";

export interface GuideModule {
  block: GuideBlock;
  kind: BlockKind;
  /** Lines added before the block (imports and declarations it relies on). */
  preamble: string;
  /** The block after substitutions and fragment wrapping. */
  body: string;
  source: string;
}

/** Every ```ts fenced block, in order. */
export function extractTsBlocks(markdown: string): GuideBlock[] {
  const blocks: GuideBlock[] = [];
  const lines = markdown.split("\n");
  let open: { line: number; code: string[] } | undefined;
  lines.forEach((text, i) => {
    if (open === undefined) {
      if (/^```ts\s*$/.test(text)) open = { line: i + 1, code: [] };
      return;
    }
    if (/^```\s*$/.test(text)) {
      blocks.push({ index: blocks.length + 1, line: open.line, code: open.code.join("\n") });
      open = undefined;
      return;
    }
    open.code.push(text);
  });
  if (open !== undefined) throw new Error(`unterminated \`\`\`ts block at guide line ${open.line}`);
  return blocks;
}

/** The substitutions the guide's placeholders may get: elided secrets and ids become well-formed. */
export const ALLOWED_SUBSTITUTIONS: ReadonlyArray<readonly [from: string, to: string]> = [
  ["ik_live_...", "ik_live_placeholder"],
  ["wrk_7Yc2...", "wrk_7Yc2placeholder"],
];

export function substitute(code: string): string {
  return ALLOWED_SUBSTITUTIONS.reduce((text, [from, to]) => text.replaceAll(from, to), code);
}

export function unsubstitute(code: string): string {
  return ALLOWED_SUBSTITUTIONS.reduce((text, [from, to]) => text.replaceAll(to, from), code);
}

export const FRAGMENT_PREFIX = /const fragment\d+: EnsureSpec = /g;

export function classify(code: string): BlockKind {
  if (/\bDataClient\b/.test(code)) return "data-client";
  if (/from "openai"/.test(code)) return "openai";
  if (/\.ensure\(/.test(code)) return "ensure";
  if (firstSignificantChar(code) === "{") return "spec-fragment";
  return "other";
}

/** Builds the module for one block. */
export function toModule(block: GuideBlock): GuideModule {
  const kind = classify(block.code);
  const body = substitute(kind === "spec-fragment" ? wrapObjectStatements(block.code) : block.code);
  const preamble = preambleFor(body).join("\n");
  const source = `${preamble}${preamble === "" ? "" : "\n"}${body}\nexport {};\n`;
  return { block, kind, preamble, body, source };
}

/** Declarations a fragment needs: `mgmt`, `base`, the SDK names it uses without importing them. */
function preambleFor(body: string): string[] {
  const imported = new Set<string>();
  for (const match of body.matchAll(/import\s*\{([^}]*)\}\s*from\s*"@inferencekey\/sdk"/g)) {
    for (const name of (match[1] ?? "").split(",")) imported.add(name.replace(/^\s*type\s+/, "").trim());
  }
  const uses = (name: string) => new RegExp(`\\b${name}\\b`).test(body);
  const declares = (name: string) => new RegExp(`\\b(const|let|var)\\s+${name}\\b`).test(body);
  const values: string[] = [];
  const types: string[] = [];
  const declarations: string[] = [];
  if (uses("mgmt") && !declares("mgmt")) {
    types.push("ManagementClient");
    declarations.push("declare const mgmt: ManagementClient;");
  }
  if (uses("base") && !declares("base")) {
    types.push("EnsureSpec");
    declarations.push("declare const base: EnsureSpec;");
  }
  if (uses("EnsureSpec") && !types.includes("EnsureSpec")) types.push("EnsureSpec");
  for (const name of ["Backend", "ExecutionPolicy", "OnDrift", "TaskType"]) {
    if (uses(name) && !imported.has(name)) values.push(name);
  }
  const typeNames = types.filter((t) => !imported.has(t));
  return [
    ...(values.length === 0 ? [] : [`import { ${values.join(", ")} } from "@inferencekey/sdk";`]),
    ...(typeNames.length === 0 ? [] : [`import type { ${typeNames.join(", ")} } from "@inferencekey/sdk";`]),
    ...declarations,
  ];
}

/** Wraps each top-level `{ ... }` statement as `const fragmentN: EnsureSpec = { ... };`. */
export function wrapObjectStatements(code: string): string {
  let out = "";
  let depth = 0;
  let fragment = 0;
  let i = 0;
  while (i < code.length) {
    const skipped = skipTrivia(code, i);
    if (skipped > i) {
      out += code.slice(i, skipped);
      i = skipped;
      continue;
    }
    const char = code[i] as string;
    if (char === '"' || char === "'" || char === "`") {
      const end = stringEnd(code, i);
      out += code.slice(i, end);
      i = end;
      continue;
    }
    if (char === "{") {
      if (depth === 0) out += `const fragment${++fragment}: EnsureSpec = `;
      depth++;
    } else if (char === "}") {
      depth--;
      if (depth === 0) {
        out += "};";
        i++;
        continue;
      }
    }
    out += char;
    i++;
  }
  return out;
}

function firstSignificantChar(code: string): string | undefined {
  let i = 0;
  for (;;) {
    const next = skipTrivia(code, i);
    if (next === i) return code[i];
    i = next;
  }
}

/** Past whitespace and comments starting at `i` (returns `i` when there are none). */
function skipTrivia(code: string, i: number): number {
  let j = i;
  for (;;) {
    if (j < code.length && /\s/.test(code[j] as string)) j++;
    else if (code.startsWith("//", j)) {
      const end = code.indexOf("\n", j);
      j = end === -1 ? code.length : end;
    } else if (code.startsWith("/*", j)) {
      const end = code.indexOf("*/", j + 2);
      j = end === -1 ? code.length : end + 2;
    } else return j;
  }
}

function stringEnd(code: string, start: number): number {
  const quote = code[start];
  let i = start + 1;
  while (i < code.length && code[i] !== quote) i += code[i] === "\\" ? 2 : 1;
  return i + 1;
}
