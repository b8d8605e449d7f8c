import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { InferenceKeyError, validateSpec } from "@inferencekey/core";
import { type Document, LineCounter, parseAllDocuments, Scalar } from "yaml";
import { CliError, EXIT } from "./errors";

/** One workload spec read from a file: its wire (snake_case) fields and where it was written. */
export interface ManifestDocument {
  /** The spec as written, with the guide's (wire) field names. */
  spec: Record<string, unknown>;
  /** `file:line:column` of the document's start, for messages. */
  where: string;
}

/** One problem found in the files: `file:line:column: field: message`. */
export interface ManifestProblem {
  where: string;
  field: string;
  message: string;
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);
/** Files are specs, not data sets: a bigger one is a mistake. */
const MAX_FILE_BYTES = 1024 * 1024;

/**
 * Reads every workload spec from the given paths: a file (YAML or JSON, several documents per file
 * separated by `---`), a directory (its .yaml, .yml and .json files, by name, not recursive) or `-`
 * (standard input). YAML 1.2 core schema. Every document is checked (syntax, duplicate keys, the
 * spec's own validation, duplicate slugs) and every problem is returned at once, pointing at
 * file:line:column and the field; nothing is applied unless the list is empty.
 */
export function loadManifests(inputs: readonly string[], readStdin: () => string): { documents: ManifestDocument[]; problems: ManifestProblem[] } {
  const documents: ManifestDocument[] = [];
  const problems: ManifestProblem[] = [];
  for (const file of expand(inputs)) {
    const text = file === "-" ? readStdin() : readFile(file);
    const name = file === "-" ? "<stdin>" : file;
    const lines = new LineCounter();
    for (const doc of parseAllDocuments(text, { lineCounter: lines, schema: "core", uniqueKeys: true, prettyErrors: false })) {
      const at = (offset: number) => {
        const { line, col } = lines.linePos(offset);
        return `${name}:${line}:${col}`;
      };
      if (doc.errors.length > 0) {
        for (const error of doc.errors) problems.push({ where: at(error.pos[0]), field: "", message: error.message.split("\n")[0] ?? "invalid YAML" });
        continue;
      }
      const where = at(doc.contents?.range?.[0] ?? 0);
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      if (value === null || value === undefined) continue; // an empty document (a trailing `---`)
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        problems.push({ where, field: "", message: "a document must be one workload spec (a mapping of fields), not a list or a value" });
        continue;
      }
      const spec = value as Record<string, unknown>;
      const found = specProblems(spec, doc, at, where);
      problems.push(...found);
      if (found.length === 0) documents.push({ spec, where });
    }
  }
  const seen = new Map<string, string>();
  for (const document of documents) {
    const slug = String(document.spec.slug);
    const first = seen.get(slug);
    if (first !== undefined) problems.push({ where: document.where, field: "slug", message: `slug "${slug}" is declared twice (first at ${first})` });
    else seen.set(slug, document.where);
  }
  return { documents, problems };
}

function expand(inputs: readonly string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    if (input === "-") {
      files.push(input);
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = statSync(input).isDirectory();
    } catch {
      throw new CliError(`${input}: no such file or directory`, EXIT.invalidInput);
    }
    if (!isDirectory) {
      files.push(input);
      continue;
    }
    const inside = readdirSync(input)
      .filter((entry) => EXTENSIONS.has(extname(entry).toLowerCase()))
      .sort()
      .map((entry) => join(input, entry));
    if (inside.length === 0) throw new CliError(`${input}: no .yaml, .yml or .json file in this directory`, EXIT.invalidInput);
    files.push(...inside);
  }
  return files;
}

function readFile(file: string): string {
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new CliError(`${file}: ${size} bytes is too large for a spec file (at most ${MAX_FILE_BYTES})`, EXIT.invalidInput);
  return readFileSync(file, "utf8");
}

/** The spec's own validation, each problem placed at the field's node in the file. */
function specProblems(spec: Record<string, unknown>, doc: Document.Parsed, at: (offset: number) => string, where: string): ManifestProblem[] {
  try {
    validateSpec(spec);
    return [];
  } catch (error) {
    if (!(error instanceof InferenceKeyError)) throw error;
    return error.details.map((detail) => {
      const path = pathParts(detail.path);
      const node = path.length === 0 ? undefined : doc.getIn(path, true);
      // Unknown fields have no value node to point at beyond the key's own value.
      const place = node !== undefined && typeof node === "object" && node !== null && "range" in node ? at((node as Scalar).range?.[0] ?? 0) : where;
      return { where: place, field: detail.path, message: withQuotingHint(detail.message, node, detail.suggestion) };
    });
  }
}

/**
 * YAML reads `vllm_version: 0.10` as the number 0.1: where the spec wants a string and the file has
 * an unquoted number or boolean, say how it was read and how to write it.
 */
function withQuotingHint(message: string, node: unknown, suggestion: string | undefined): string {
  const hint = suggestion === undefined || message.includes("did you mean") ? "" : `; did you mean ${JSON.stringify(suggestion)}?`;
  if (!(node instanceof Scalar) || node.type !== Scalar.PLAIN || typeof node.value === "string" || !/must be a string|expected string/i.test(message)) {
    return message + hint;
  }
  const written = typeof node.source === "string" ? node.source : String(node.value);
  const read = written === String(node.value) ? "" : ` (YAML reads ${written} as ${typeof node.value} ${String(node.value)})`;
  return `${message}${read}; quote it: "${written}"${hint}`;
}

/** `execution_policy_config.workers.private_worker_ids[0]` -> ["execution_policy_config", "workers", "private_worker_ids", 0]. */
function pathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const segment of path.split(".")) {
    if (segment === "") continue;
    const [name, ...indexes] = segment.split("[");
    if (name !== undefined && name !== "") parts.push(name);
    for (const index of indexes) parts.push(Number(index.replace("]", "")));
  }
  return parts;
}
