import type { Compute } from "../compute";
import { keys, type PlatformContext } from "../platform/context";
import { queryAll } from "../store";
import { hourOf, rollUpUsageHour, USAGE_LATE_FLUSH_MS } from "../usage";
import { listProjectWorkers } from "../workers";
import type { WorkloadRecord } from "../workloads";
import { type ControllerOptions, type ReconcileOutcome, reconcileWorkload } from "./reconcile";

/**
 * The controller tick fanned out per project. One sequential tick over every workload costs about
 * (store calls per workload x store latency) per workload, which on DynamoDB caps one invocation at
 * a few thousand workloads a minute. The tick instead lists the projects and hands each to a
 * project pass (`reconcileProject`) through a ProjectTickDispatcher: in AWS an SQS queue whose
 * consumer Lambda runs many passes at once, in tests and locally an in-process pool. Each workload
 * is still reconciled under its own lease with every write fenced by it, so passes that overlap (a
 * doubled message, a slow pass meeting the next tick) skip what another holds and never both act.
 */

/** One project's pass of one tick, as the dispatcher carries it. */
export interface ProjectTick {
  project: string;
  /** The tick that asked for it (an ISO instant): for logs, and for a consumer to drop stale passes. */
  tick: string;
}

/** Where a tick sends its project passes (an SQS queue in AWS, an in-process pool in tests). */
export interface ProjectTickDispatcher {
  /** Resolves once every pass is handed over (the in-process pool: once every pass ran). */
  dispatch(ticks: readonly ProjectTick[]): Promise<void>;
}

/** A pass older than this when it starts is dropped: a newer tick has asked for the project since. */
export const PROJECT_TICK_STALE_MS = 2 * 60_000;

/**
 * Lists every project and dispatches one pass per project, then runs the compute's own tick once
 * (the shared node pool: launches, consolidation, garbage collection). The passes run elsewhere, so
 * the pool acts on the placements the previous tick's passes recorded: at most one tick later.
 */
export async function fanOutTick(ctx: PlatformContext, dispatcher: ProjectTickDispatcher, compute?: Compute): Promise<{ projects: number }> {
  const tick = ctx.now().toISOString();
  const projects = (await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })).map(
    (item) => (item.data as { slug: string }).slug,
  );
  await dispatcher.dispatch(projects.map((project) => ({ project, tick })));
  await compute?.tick?.(ctx);
  return { projects: projects.length };
}

export interface ProjectPassOptions extends ControllerOptions {
  /** Workloads of the project reconciled at once. Default 4. */
  parallelism?: number;
  log?: (line: string) => void;
}

export interface ProjectPassResult {
  outcomes: ReconcileOutcome[];
  /** Workloads whose pass threw (a store failure, a lost fence): the next tick tries again. */
  failed: { workload: string; error: string }[];
}

/**
 * One project's share of a tick: its workers listed once, then every workload (tombstones
 * included) reconciled under its own lease, `parallelism` at a time. One workload's failure never
 * stops the others. Once an hour it also rolls up the project's usage of the last closed hour.
 */
export async function reconcileProject(
  ctx: PlatformContext,
  compute: Compute,
  project: string,
  options: ProjectPassOptions = {},
): Promise<ProjectPassResult> {
  const workers = await listProjectWorkers(ctx, project);
  const slugs = (await queryAll(ctx.store, { pk: keys.workload(project, "").pk, skPrefix: keys.workloadPrefix() })).map(
    (item) => (item.data as unknown as WorkloadRecord).slug,
  );
  const result: ProjectPassResult = { outcomes: [], failed: [] };
  let next = 0;
  const lane = async () => {
    while (next < slugs.length) {
      const slug = slugs[next++] as string;
      try {
        const outcome = await reconcileWorkload(ctx, compute, project, slug, options, workers);
        if (outcome) result.outcomes.push(outcome);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        result.failed.push({ workload: slug, error: message });
        options.log?.(`controller: ${project}/${slug}: ${message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallelism ?? 4, slugs.length)) }, lane));
  try {
    await rollUpProjectUsage(ctx, project, slugs);
  } catch (error) {
    // Readers roll up a missing hour themselves: a failure here costs only read time.
    options.log?.(`controller: usage roll-up of ${project}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return result;
}

/** The project's marker: the last hour whose usage the controller rolled up. */
export function usageRollUpMarker(project: string): { pk: string; sk: string } {
  return { pk: `PRJ#${project}`, sk: "USAGEROLL" };
}

/**
 * Rolls up the last closed hour of every workload of the project, once: one read of the marker
 * per pass, and per workload one query and two writes an hour. Older hours without a roll-up are
 * rolled up by the first reader that needs them.
 */
export async function rollUpProjectUsage(ctx: PlatformContext, project: string, slugs: readonly string[]): Promise<void> {
  const hour = hourOf(new Date(ctx.now().getTime() - 3_600_000 - USAGE_LATE_FLUSH_MS));
  const marker = usageRollUpMarker(project);
  const item = await ctx.store.get(marker.pk, marker.sk);
  const done = (item?.data as { hour?: string } | undefined)?.hour;
  if (done !== undefined && done >= hour) return;
  for (const slug of slugs) await rollUpUsageHour(ctx, project, slug, hour);
  // Unconditional: two passes rolling up the same hour write the same marker.
  await ctx.store.put({ ...marker, data: { hour } }, { kind: "any" });
}

/**
 * The in-process dispatcher (tests, benchmarks, the local runtime): runs the passes here, at most
 * `concurrency` at once, the way that many concurrent consumer invocations would.
 */
export class InProcessProjectDispatcher implements ProjectTickDispatcher {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly compute: Compute,
    private readonly options: ProjectPassOptions & {
      /** Passes run at once (concurrent invocations). Default 10. */
      concurrency?: number;
      onPass?: (tick: ProjectTick, result: ProjectPassResult) => void;
    } = {},
  ) {}

  async dispatch(ticks: readonly ProjectTick[]): Promise<void> {
    let next = 0;
    const invocation = async () => {
      while (next < ticks.length) {
        const tick = ticks[next++] as ProjectTick;
        const result = await runProjectTick(this.ctx, this.compute, tick, this.options);
        if (result !== undefined) this.options.onPass?.(tick, result);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 10, ticks.length)) }, invocation));
  }
}

/** What a consumer does with one dispatched pass: drops it when stale, else runs it. */
export async function runProjectTick(
  ctx: PlatformContext,
  compute: Compute,
  tick: ProjectTick,
  options: ProjectPassOptions = {},
): Promise<ProjectPassResult | undefined> {
  const age = ctx.now().getTime() - Date.parse(tick.tick);
  if (!(age <= PROJECT_TICK_STALE_MS)) {
    options.log?.(`controller: dropped the pass of ${tick.project} from tick ${tick.tick} (a newer tick covers it)`);
    return undefined;
  }
  return reconcileProject(ctx, compute, tick.project, options);
}
