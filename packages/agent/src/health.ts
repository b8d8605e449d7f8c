import type { BackendName } from "@inferencekey/core";

/** What a readiness probe needs to know about a replica. */
export interface ProbeTarget {
  backend: BackendName;
  host: string;
  port: number;
  model: string;
  secret: string;
}

/**
 * A readiness answer. Not ready may say more: `modelMissing` (ollama runs but lacks the model: the
 * agent pulls it) and `progress` (not ready, but visibly getting there: no hang).
 */
export type ProbeResult = { ok: true } | { ok: false; reason: string; modelMissing?: boolean; progress?: boolean };

/** A wildcard bind address is reached on loopback; IPv6 literals go in brackets. */
export function replicaUrl(target: Pick<ProbeTarget, "host" | "port">, path: string): string {
  let host = target.host;
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "[::1]";
  else if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${target.port}${path}`;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError" || error.name === "AbortError") return "no answer in time";
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    if (typeof code === "string") return code === "ECONNREFUSED" ? "connection refused" : code;
    return error.message;
  }
  return String(error);
}

async function get(
  fetchImpl: typeof fetch,
  url: string,
  signal: AbortSignal | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const response = await fetchImpl(url, { headers, ...(signal === undefined ? {} : { signal }) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { error: describeError(error) };
  }
}

function modelIds(body: string, list: "data" | "models"): string[] | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const entries = parsed[list];
    if (!Array.isArray(entries)) return undefined;
    return entries.flatMap((entry: unknown) => {
      if (typeof entry !== "object" || entry === null) return [];
      const record = entry as Record<string, unknown>;
      const names = list === "data" ? [record.id] : [record.name, record.model];
      return names.filter((v): v is string => typeof v === "string");
    });
  } catch {
    return undefined;
  }
}

/** ollama lists `llama3.1:latest` for a model pulled as `llama3.1`. */
function ollamaHas(names: string[], model: string): boolean {
  return names.some((name) => name === model || name === `${model}:latest` || `${name}:latest` === model);
}

/**
 * Whether a replica is ready to serve: its health route answers 200 AND its model list includes
 * the model. vllm, sglang, vllm-omni: `GET /health` then `GET /v1/models` (with the replica secret).
 * ollama: `GET /api/tags`, whose `models[].name` must include the model (ollama serves only pulled
 * models). The reason says what is missing, in words a person can act on.
 */
export async function checkReady(
  target: ProbeTarget,
  options: { fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<ProbeResult> {
  const fetchImpl = options.fetch ?? fetch;
  if (target.backend === "ollama") {
    const url = replicaUrl(target, "/api/tags");
    const tags = await get(fetchImpl, url, options.signal);
    if ("error" in tags) return { ok: false, reason: `GET ${url}: ${tags.error}` };
    if (tags.status !== 200) return { ok: false, reason: `GET ${url} answered ${tags.status}` };
    const names = modelIds(tags.body, "models");
    if (names === undefined) return { ok: false, reason: `GET ${url} did not answer a model list` };
    if (!ollamaHas(names, target.model)) {
      return {
        ok: false,
        reason: `ollama does not list model ${target.model} (pull it: ollama pull ${target.model})`,
        modelMissing: true,
      };
    }
    return { ok: true };
  }

  const healthUrl = replicaUrl(target, "/health");
  const health = await get(fetchImpl, healthUrl, options.signal);
  if ("error" in health) return { ok: false, reason: `GET ${healthUrl}: ${health.error}` };
  if (health.status !== 200) return { ok: false, reason: `GET ${healthUrl} answered ${health.status}` };

  const modelsUrl = replicaUrl(target, "/v1/models");
  const models = await get(fetchImpl, modelsUrl, options.signal, {
    authorization: `Bearer ${target.secret}`,
  });
  if ("error" in models) return { ok: false, reason: `GET ${modelsUrl}: ${models.error}` };
  if (models.status === 401 || models.status === 403) {
    return {
      ok: false,
      reason: `GET ${modelsUrl} answered ${models.status}: the backend does not accept the replica secret`,
    };
  }
  if (models.status !== 200) return { ok: false, reason: `GET ${modelsUrl} answered ${models.status}` };
  const ids = modelIds(models.body, "data");
  if (ids === undefined) return { ok: false, reason: `GET ${modelsUrl} did not answer a model list` };
  if (!ids.includes(target.model)) {
    return {
      ok: false,
      reason: `the backend serves ${ids.length === 0 ? "no model" : ids.map((id) => JSON.stringify(id)).join(", ")}, not ${JSON.stringify(target.model)}`,
    };
  }
  return { ok: true };
}
