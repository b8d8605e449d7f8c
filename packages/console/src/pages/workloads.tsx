import { useEffect, useMemo, useState } from "preact/hooks";
import { api, management, type Workload, type WorkloadRate } from "../api";
import { markReady } from "../app";
import { money } from "../format";
import { usePoll } from "../hooks";
import { BASE, Link } from "../router";
import { ErrorNote } from "../widgets";

/** One word for where a workload is: what its conditions and replica counts say. */
export function phaseOf(workload: Workload): string {
  const { status } = workload;
  if (status.replicas.some((r) => r.phase === "failed")) return "failed";
  if (status.desiredReplicas === 0) return status.readyReplicas > 0 ? "stopping" : "idle";
  if (status.readyReplicas >= status.desiredReplicas) return "ready";
  if (status.readyReplicas > 0) return "scaling";
  return status.replicas.some((r) => r.phase === "starting") ? "starting" : "pending";
}

interface Row {
  slug: string;
  taskType: string;
  backend: string;
  policy: string;
  phase: string;
  ready: number;
  desired: number;
  costPerHour: number;
  requestsPerMinute: number;
}

const COLUMNS: { key: keyof Row; label: string }[] = [
  { key: "slug", label: "Workload" },
  { key: "taskType", label: "Task type" },
  { key: "backend", label: "Backend" },
  { key: "policy", label: "Policy" },
  { key: "phase", label: "Phase" },
  { key: "ready", label: "Ready / desired" },
  { key: "costPerHour", label: "Cost per hour now" },
  { key: "requestsPerMinute", label: "Requests per minute" },
];

async function loadRows(project: string): Promise<Row[]> {
  const mgmt = management(project);
  const workloads: Workload[] = [];
  for await (const workload of mgmt.listAll({ limit: 200 })) workloads.push(workload);
  const rates = new Map<string, WorkloadRate>((await api.rates(project)).data.map((r) => [r.slug, r]));
  return workloads.map((w) => ({
    slug: w.slug,
    taskType: w.spec.task_type,
    backend: w.spec.backend,
    policy: w.spec.execution_policy,
    phase: phaseOf(w),
    ready: w.status.readyReplicas,
    desired: w.status.desiredReplicas,
    costPerHour: rates.get(w.slug)?.cost_per_hour_usd ?? 0,
    requestsPerMinute: rates.get(w.slug)?.requests_per_minute ?? 0,
  }));
}

export function WorkloadsPage(props: { project: string }) {
  const rows = usePoll(() => loadRows(props.project), [props.project], 3000);
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<{ key: keyof Row; ascending: boolean }>({ key: "slug", ascending: true });
  useEffect(() => {
    if (!rows.loading) markReady();
  }, [rows.loading]);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const list = (rows.data ?? []).filter(
      (r) =>
        needle === "" ||
        [r.slug, r.taskType, r.backend, r.policy, r.phase].some((v) => v.toLowerCase().includes(needle)),
    );
    const sign = sort.ascending ? 1 : -1;
    return list.sort((a, b) => {
      const x = a[sort.key];
      const y = b[sort.key];
      return (
        (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sign
      );
    });
  }, [rows.data, filter, sort]);

  return (
    <section>
      <h1>Workloads in {props.project}</h1>
      <div class="toolbar">
        <label>
          Filter{" "}
          <input
            type="search"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
            placeholder="slug, backend, phase…"
          />
        </label>
      </div>
      <ErrorNote message={rows.error} />
      {rows.loading ? (
        <p class="loading">Loading workloads…</p>
      ) : rows.data?.length === 0 ? (
        <p>
          No workloads yet. Declare one with <code>mgmt.ensure(...)</code> (README, Quickstart).
        </p>
      ) : (
        <table class="data" data-testid="workloads-table">
          <caption class="visually-hidden">Workloads, sortable by each column</caption>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  scope="col"
                  key={c.key}
                  aria-sort={sort.key === c.key ? (sort.ascending ? "ascending" : "descending") : "none"}
                >
                  <button
                    type="button"
                    class="sort"
                    onClick={() =>
                      setSort((s) => ({ key: c.key, ascending: s.key === c.key ? !s.ascending : true }))
                    }
                  >
                    {c.label}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.slug} data-workload={r.slug}>
                <th scope="row">
                  <Link
                    href={`${BASE}/projects/${encodeURIComponent(props.project)}/workloads/${encodeURIComponent(r.slug)}`}
                  >
                    {r.slug}
                  </Link>
                </th>
                <td>{r.taskType}</td>
                <td>{r.backend}</td>
                <td>{r.policy}</td>
                <td>
                  <span class={`phase phase-${r.phase}`} data-testid="phase">
                    {r.phase}
                  </span>
                </td>
                <td>
                  {r.ready} / {r.desired}
                </td>
                <td>{money(r.costPerHour)}</td>
                <td>{r.requestsPerMinute}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
