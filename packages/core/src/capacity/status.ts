import type { PlatformContext } from "../platform/context";
import type { UnplacedReason } from "../placement";
import { queryAll } from "../store";
import { capacityKeys } from "./nodes";

/** A workload's last placement outcome on shared capacity, shown as its `Placed` condition. */
export interface PlacedStatus {
  placed: boolean;
  reason: "Placed" | "AwaitingNode" | UnplacedReason;
  message: string;
  at: string;
  /** The spec generation it was decided for. */
  generation: number;
}

/** Written only when it changes, so a placement retried every tick costs a read, not a write. */
export async function writePlacedStatus(ctx: PlatformContext, project: string, slug: string, status: Omit<PlacedStatus, "at">): Promise<void> {
  const key = capacityKeys.placed(project, slug);
  const current = (await ctx.store.get(key.pk, key.sk))?.data as PlacedStatus | undefined;
  if (current?.placed === status.placed && current.reason === status.reason && current.message === status.message && current.generation === status.generation) return;
  await ctx.store.put({ ...key, data: { ...status, at: ctx.now().toISOString() } }, { kind: "any" });
}

export async function readPlacedStatus(ctx: PlatformContext, project: string, slug: string): Promise<PlacedStatus | undefined> {
  const key = capacityKeys.placed(project, slug);
  return (await ctx.store.get(key.pk, key.sk))?.data as PlacedStatus | undefined;
}

/** UTC hour bucket of cost items: `2026-12-02T08`. */
export function costHour(at: Date): string {
  return at.toISOString().slice(0, 13);
}

/** Adds GPU-hours x share price to a workload's hour bucket (re-read on a lost race). */
export async function addEstimatedCost(ctx: PlatformContext, project: string, slug: string, at: Date, usd: number): Promise<void> {
  if (!(usd > 0)) return;
  const pk = capacityKeys.cost(project, slug);
  const sk = `HOUR#${costHour(at)}`;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const current = await ctx.store.get(pk, sk);
    const total = Number(current?.data.estimated_cost_usd ?? 0) + usd;
    try {
      await ctx.store.put({ pk, sk, data: { hour: costHour(at), estimated_cost_usd: total } }, current ? { kind: "version", version: current.version } : { kind: "absent" });
      return;
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
}

/**
 * A workload's estimated cost in USD (its GPUs' share of its nodes' prices, per hour held), over
 * the hours that start in [from, to) when a range is given, else since it was first placed.
 */
export async function readEstimatedCost(ctx: PlatformContext, project: string, slug: string, range?: { from: Date; to: Date }): Promise<number> {
  const items = await queryAll(ctx.store, { pk: capacityKeys.cost(project, slug), skPrefix: "HOUR#" });
  let total = 0;
  for (const item of items) {
    const hour = String(item.data.hour ?? "");
    if (range !== undefined) {
      const start = Date.parse(`${hour}:00:00.000Z`);
      if (!(start >= Math.floor(range.from.getTime() / 3_600_000) * 3_600_000 && start < range.to.getTime())) continue;
    }
    total += Number(item.data.estimated_cost_usd ?? 0);
  }
  return Math.round(total * 10_000) / 10_000;
}
