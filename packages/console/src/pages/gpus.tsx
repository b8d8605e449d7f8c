import { useEffect } from "preact/hooks";
import { api, management, type Workload } from "../api";
import { markReady } from "../app";
import { money } from "../format";
import { usePoll } from "../hooks";
import { ErrorNote } from "../widgets";

async function workloadsOf(project: string | undefined): Promise<Workload[]> {
  if (project === undefined) return [];
  const list: Workload[] = [];
  for await (const w of management(project).listAll({ limit: 200 })) list.push(w);
  return list;
}

/** The display names a spec's cloud pool names (`execution_policy_config.workers.cloud_pool.gpu_pool`), wherever the policy puts it. */
export function gpuPoolOf(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return [];
  const pool = (value as { gpu_pool?: unknown }).gpu_pool;
  if (Array.isArray(pool)) return pool.filter((p): p is string => typeof p === "string");
  return Object.values(value).flatMap(gpuPoolOf);
}

/** The GPU catalog and which of the project's workloads ask for which offering (`gpu_pool`). */
export function GpuPage(props: { project: string | undefined }) {
  const catalog = usePoll(() => api.gpuCatalog(), [], 0);
  const workloads = usePoll(() => workloadsOf(props.project), [props.project], 10_000);
  useEffect(() => {
    if (!catalog.loading) markReady();
  }, [catalog.loading]);

  const users = (displayName: string) =>
    (workloads.data ?? []).filter((w) => gpuPoolOf(w.spec).includes(displayName));
  const unpinned = (workloads.data ?? []).filter((w) => gpuPoolOf(w.spec).length === 0);

  return (
    <section>
      <h1>GPU Resources</h1>
      <p>
        The GPUs a workload's <code>gpu_pool</code> names: a replica pays its GPUs' share of the instance's price per hour.
      </p>
      <ErrorNote message={catalog.error ?? workloads.error} />
      <table class="data" data-testid="gpu-table">
        <thead>
          <tr>
            <th scope="col">Display name</th>
            <th scope="col">Instance type</th>
            <th scope="col">GPUs</th>
            <th scope="col">VRAM per GPU</th>
            <th scope="col">Price per GPU-hour</th>
            <th scope="col">CUDA versions</th>
            <th scope="col">Used by{props.project === undefined ? "" : ` (${props.project})`}</th>
          </tr>
        </thead>
        <tbody>
          {(catalog.data ?? []).map((o) => (
            <tr key={`${o.displayName}|${o.instanceType ?? ""}`}>
              <th scope="row">{o.displayName}</th>
              <td>{o.instanceType ?? "—"}</td>
              <td>{o.gpus ?? "—"}</td>
              <td>{o.vramGb === undefined ? "—" : `${o.vramGb} GB`}</td>
              <td>{money(o.hourlyPriceUsd)}</td>
              <td>{o.cudaVersions.join(", ") || "—"}</td>
              <td>
                {users(o.displayName)
                  .map((w) => w.slug)
                  .join(", ") || "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {unpinned.length === 0 ? null : (
        <p>
          Workloads on private or local workers (no <code>gpu_pool</code>):{" "}
          {unpinned.map((w) => w.slug).join(", ")}.
        </p>
      )}
    </section>
  );
}
