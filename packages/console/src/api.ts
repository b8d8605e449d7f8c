import {
  type CreatedKey,
  type DataKey,
  InferenceKeyError,
  ManagementClient,
  type RegisteredWorker,
  type Worker,
  type Workload,
  type WorkloadEvent,
} from "@inferencekey/sdk";

export type { CreatedKey, DataKey, RegisteredWorker, Worker, Workload, WorkloadEvent };

/** What `GET /v1/whoami` says a token reaches. */
export interface Identity {
  token_id: string;
  scope: "organisation" | "project";
  project: string | null;
  admin: boolean;
}

export interface ReplicaHistoryEntry {
  id: string;
  worker_id?: string;
  phase: string;
  started_at: string;
  ready_at?: string;
  ended_at?: string;
  restarts: number;
  last_reason?: string;
  hourly_price_usd: number;
}

export interface SeriesPoint {
  minute: string;
  requests: number;
  errors: number;
  total_tokens: number;
  latency_ms_p50: number;
  latency_ms_p99: number;
  ready_replicas: number;
  replica_hours: number;
  gpu_hours: number;
  cost_usd: number;
}

export interface WorkloadSeries {
  points: SeriesPoint[];
  totals: {
    requests: number;
    errors: number;
    total_tokens: number;
    replica_hours: number;
    gpu_hours: number;
    cost_usd: number;
  };
}

export interface WorkloadRate {
  slug: string;
  requests_per_minute: number;
  cost_per_hour_usd: number;
}

export interface ApiToken {
  id: string;
  name: string;
  project?: string;
  admin: boolean;
  prefix: string;
  last4: string;
  created_at: string;
  revoked_at?: string;
}

/** One GPU offering, read defensively: the catalog grows fields (instance type, GPU count). */
export interface GpuOffering {
  displayName: string;
  instanceType: string | undefined;
  gpus: number | undefined;
  vramGb: number | undefined;
  hourlyPriceUsd: number | undefined;
  cudaVersions: string[];
}

const TOKEN_KEY = "inferencekey.console.token";

/** The token lives in this tab's session storage only: never in a URL, never in local storage. */
export const session = {
  token: (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  save: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the platform, with the message it gave (never the token). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof InferenceKeyError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Calls the control API on this origin with the session's token. */
export async function call<T>(
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<T> {
  const token = init.token ?? session.token();
  const response = await fetch(path, {
    method: init.method ?? "GET",
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.message ?? `${response.status} ${response.statusText}`);
  }
  return parsed as T;
}

const enc = encodeURIComponent;

export const api = {
  whoami: (token?: string) => call<Identity>("/v1/whoami", token === undefined ? {} : { token }),
  projects: () => call<{ data: { slug: string; name?: string }[] }>("/v1/projects?limit=200"),
  rates: (project: string) => call<{ data: WorkloadRate[] }>(`/v1/projects/${enc(project)}/workload-rates`),
  replicas: (project: string, slug: string) =>
    call<{ data: ReplicaHistoryEntry[] }>(`/v1/projects/${enc(project)}/workloads/${enc(slug)}/replicas`),
  series: (project: string, slug: string, from: Date, to: Date) =>
    call<WorkloadSeries>(
      `/v1/projects/${enc(project)}/workloads/${enc(slug)}/series?from=${enc(from.toISOString())}&to=${enc(to.toISOString())}`,
    ),
  tokens: () => call<{ data: ApiToken[] }>("/v1/tokens"),
  createToken: (name: string, project: string | undefined) =>
    call<ApiToken & { token: string }>("/v1/tokens", {
      method: "POST",
      body: { name, ...(project ? { project } : {}) },
    }),
  revokeToken: (id: string) => call<ApiToken>(`/v1/tokens/${enc(id)}`, { method: "DELETE" }),
  gpuCatalog: async (): Promise<GpuOffering[]> => {
    const body = await call<{ data?: unknown }>("/v1/catalog/gpus");
    return (Array.isArray(body.data) ? body.data : []).flatMap((raw): GpuOffering[] => {
      if (typeof raw !== "object" || raw === null) return [];
      const o = raw as Record<string, unknown>;
      const num = (...names: string[]) =>
        names.map((n) => o[n]).find((v): v is number => typeof v === "number");
      const str = (...names: string[]) =>
        names.map((n) => o[n]).find((v): v is string => typeof v === "string");
      const displayName = str("display_name", "name");
      if (displayName === undefined) return [];
      return [
        {
          displayName,
          instanceType: str("instance_type"),
          gpus: num("gpu_count", "gpus", "gpus_per_instance"),
          vramGb: num("vram_gb", "vram_gb_per_gpu"),
          hourlyPriceUsd: num("hourly_price_usd", "price_per_hour_usd"),
          cudaVersions: Array.isArray(o.cuda_versions)
            ? o.cuda_versions.filter((v): v is string => typeof v === "string")
            : [],
        },
      ];
    });
  },
};

/** The SDK's client for one project, on this origin, with the session's token. */
export function management(project: string): ManagementClient {
  return new ManagementClient({
    token: session.token() ?? "",
    project,
    baseUrl: location.origin,
    maxRetries: 1,
  });
}
