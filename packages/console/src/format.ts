/** Text the console shows: YAML of a spec, the SDK call that creates it, request snippets. */

const PLAIN = /^[A-Za-z0-9_./@:+-]+$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~|-?\d.*)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = String(value);
  return PLAIN.test(text) && !RESERVED.test(text) ? text : JSON.stringify(text);
}

/** A JSON value as block YAML (the subset a workload spec uses: objects, arrays, scalars). */
export function toYaml(value: unknown, indent = 0): string {
  const pad = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    return value
      .map((item) =>
        typeof item === "object" && item !== null
          ? `${pad}-\n${toYaml(item, indent + 2)}`
          : `${pad}- ${scalar(item)}\n`,
      )
      .join("");
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries
      .map(([key, v]) => {
        if (Array.isArray(v) && v.length > 0) return `${pad}${key}:\n${toYaml(v, indent + 2)}`;
        if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
          return `${pad}${key}:\n${toYaml(v, indent + 2)}`;
        }
        return `${pad}${key}: ${Array.isArray(v) ? "[]" : typeof v === "object" && v !== null ? "{}" : scalar(v)}\n`;
      })
      .join("");
  }
  return `${pad}${scalar(value)}\n`;
}

/**
 * The `ensure()` call of the TypeScript SDK that declares this wire spec: the SDK names the spec's
 * own fields in camelCase (`executionPolicyConfig`); what is inside them keeps its wire names.
 */
export function sdkCall(project: string, wireSpec: object): string {
  const spec = Object.fromEntries(
    Object.entries(wireSpec).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v]),
  );
  return [
    'import { ManagementClient } from "@inferencekey/sdk";',
    "",
    `const mgmt = ManagementClient.fromEnv({ project: ${JSON.stringify(project)} });`,
    `await mgmt.ensure(${JSON.stringify(spec, null, 2)});`,
    "",
  ].join("\n");
}

/** `ik_live_abcd…wxyz`: enough to recognise a key, never enough to use it. */
export function maskKey(key: string): string {
  if (key === "") return "$INFERENCEKEY_API_KEY";
  const prefix = key.startsWith("ik_live_") ? "ik_live_" : "";
  return `${prefix}••••${key.slice(-4)}`;
}

export interface Snippets {
  curl: string;
  python: string;
  typescript: string;
}

/** Equivalent calls to the one the playground sends, with the key masked. */
export function snippets(
  origin: string,
  project: string,
  slug: string,
  route: string,
  body: unknown,
  key: string,
): Snippets {
  const base = `${origin}/endpoint/${project}/${slug}/v1`;
  const masked = maskKey(key);
  const json = JSON.stringify(body, null, 2);
  const method =
    route === "chat/completions"
      ? "chat.completions.create"
      : route === "completions"
        ? "completions.create"
        : route === "embeddings"
          ? "embeddings.create"
          : "images.generate";
  const pyArgs = Object.entries(body as Record<string, unknown>)
    .map(([k, v]) => `    ${k}=${pythonLiteral(v)},`)
    .join("\n");
  return {
    curl: `curl ${base}/${route} \\\n  -H "Authorization: Bearer ${masked}" \\\n  -H "Content-Type: application/json" \\\n  -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`,
    python: `from openai import OpenAI\n\nclient = OpenAI(base_url="${base}", api_key="${masked}")\nresult = client.${method}(\n${pyArgs}\n)\nprint(result)`,
    typescript: `import OpenAI from "openai";\n\nconst client = new OpenAI({ baseURL: "${base}", apiKey: "${masked}" });\nconst result = await client.${method}(${json});\nconsole.log(result);`,
  };
}

function pythonLiteral(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}

export function money(usd: number | undefined): string {
  if (usd === undefined) return "—";
  return `$${usd < 10 ? usd.toFixed(2) : usd.toFixed(0)}`;
}

export function when(iso: string | undefined): string {
  if (iso === undefined) return "—";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

export function ago(iso: string | undefined, now = Date.now()): string {
  if (iso === undefined) return "never";
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}
