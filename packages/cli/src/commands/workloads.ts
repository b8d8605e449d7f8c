import type { Workload, WorkloadEvent } from "@inferencekey/sdk";
import type { CommandContext } from "../client";
import { CliError, EXIT } from "../errors";
import { type Columns, render } from "../output";

const WORKLOAD_COLUMNS: Columns<Workload> = [
  ["SLUG", (w) => w.slug],
  ["TASK", (w) => w.spec.task_type],
  ["BACKEND", (w) => w.spec.backend],
  ["POLICY", (w) => w.spec.execution_policy],
  ["READY", (w) => `${w.status.readyReplicas}/${w.status.desiredReplicas}`],
  ["GEN", (w) => w.generation],
  ["MANAGED", (w) => w.managedBy ?? "-"],
  ["DECISION", (w) => w.status.decision],
];

export async function list(ctx: CommandContext): Promise<number> {
  const all: Workload[] = [];
  for await (const workload of ctx.mgmt.listAll()) all.push(workload);
  ctx.out(render(ctx.output, all, WORKLOAD_COLUMNS));
  return EXIT.ok;
}

export async function get(ctx: CommandContext, slug: string): Promise<number> {
  const workload = await ctx.mgmt.get(slug);
  ctx.out(ctx.output === "table" ? render("yaml", { ...workload.spec }, []) : render(ctx.output, workload, WORKLOAD_COLUMNS));
  return EXIT.ok;
}

export async function remove(ctx: CommandContext, slug: string): Promise<number> {
  await ctx.mgmt.delete(slug);
  ctx.out(`deleted ${ctx.mgmt.project}/${slug}: its replicas stop\n`);
  return EXIT.ok;
}

/** The status as a few lines: the decision, then one line per replica with a progress note. */
export function statusLines(workload: Workload): string[] {
  const { status } = workload;
  const lines = [
    `${workload.projectSlug}/${workload.slug}  generation ${workload.generation}  ${status.readyReplicas}/${status.desiredReplicas} ready`,
    `decision: ${status.decision}${status.nextChangeAt === undefined ? "" : ` (next change ${status.nextChangeAt})`}`,
  ];
  for (const replica of status.replicas) {
    const note = replica.phase === "ready" ? "" : replica.reason === undefined ? "" : `  ${replica.reason}`;
    lines.push(`  slot ${replica.slot}  ${replica.phase.padEnd(8)} ${replica.id}  on ${replica.workerId}  restarts ${replica.restarts}${note}`);
  }
  if (status.replicas.length === 0) lines.push("  no replicas");
  return lines;
}

/**
 * `status SLUG [--watch] [--until-ready]`: once, or refreshed every `intervalMs` (redrawn in place on
 * a terminal; plain lines, printed when they change, otherwise) until interrupted or, with
 * --until-ready, until every desired replica is ready.
 */
export async function status(
  ctx: CommandContext,
  slug: string,
  options: { watch?: boolean; untilReady?: boolean; intervalMs?: number; timeoutSeconds?: number },
): Promise<number> {
  const once = !options.watch && !options.untilReady;
  if (once || ctx.output !== "table") {
    const workload = await ctx.mgmt.get(slug);
    ctx.out(ctx.output === "table" ? `${statusLines(workload).join("\n")}\n` : render(ctx.output, workload.status, []));
    return EXIT.ok;
  }
  const deadline = options.timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutSeconds * 1000;
  let drawn = 0;
  let previous = "";
  for (;;) {
    const workload = await ctx.mgmt.get(slug);
    const lines = statusLines(workload);
    const text = lines.join("\n");
    if (text !== previous) {
      // On a terminal: move up over the last drawing and clear it, so the view updates in place.
      if (ctx.interactive && drawn > 0) ctx.out(`\x1b[${drawn}F\x1b[0J`);
      ctx.out(`${text}\n`);
      drawn = lines.length;
      previous = text;
    }
    const { readyReplicas, desiredReplicas } = workload.status;
    if (options.untilReady && desiredReplicas > 0 && readyReplicas >= desiredReplicas) return EXIT.ok;
    if (Date.now() > deadline) throw new CliError(`${slug} was not ready within ${options.timeoutSeconds} s`, EXIT.networkOrServer);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
  }
}

const EVENT_COLUMNS: Columns<WorkloadEvent> = [
  ["AT", (e) => e.at],
  ["TYPE", (e) => e.type],
  ["GEN", (e) => e.generation],
  ["MESSAGE", (e) => e.message],
];

/** `events SLUG [--follow]`: the latest events, oldest first; with --follow, new ones as they come. */
export async function events(ctx: CommandContext, slug: string, options: { follow?: boolean; limit?: number; intervalMs?: number }): Promise<number> {
  const first = (await ctx.mgmt.events(slug, { limit: options.limit ?? 20 })).data.reverse();
  if (!options.follow) {
    ctx.out(render(ctx.output, first, EVENT_COLUMNS));
    return EXIT.ok;
  }
  const line = (e: WorkloadEvent) => (ctx.output === "json" ? `${JSON.stringify(e)}\n` : `${e.at}  ${e.type.padEnd(18)} ${e.message}\n`);
  for (const event of first) ctx.out(line(event));
  let last = first.at(-1)?.id ?? "";
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
    const fresh = (await ctx.mgmt.events(slug, { limit: 100 })).data.filter((e) => e.id > last).reverse();
    for (const event of fresh) ctx.out(line(event));
    last = fresh.at(-1)?.id ?? last;
  }
}

/** `usage SLUG --since 1h`: totals and per key over the window. */
export async function usage(ctx: CommandContext, slug: string, options: { since?: string }): Promise<number> {
  const from = new Date(Date.now() - parseDuration(options.since ?? "1h"));
  const report = await ctx.mgmt.usage(slug, { from });
  if (ctx.output !== "table") {
    ctx.out(render(ctx.output, report, []));
    return EXIT.ok;
  }
  ctx.out(`${report.project}/${report.workload}  ${report.from} .. ${report.to}\n`);
  const rows = [{ keyId: "total", ...report.totals }, ...report.byKey];
  ctx.out(
    render("table", rows, [
      ["KEY", (r) => r.keyId],
      ["REQUESTS", (r) => r.requests],
      ["ERRORS", (r) => r.errors],
      ["TOKENS", (r) => r.totalTokens],
      ["P50 MS", (r) => r.latencyMsP50],
      ["P99 MS", (r) => r.latencyMsP99],
    ]),
  );
  return EXIT.ok;
}

/** `90s`, `15m`, `1h`, `7d` to milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (match === null) throw new CliError(`--since ${JSON.stringify(text)} is not a duration: use e.g. 90s, 15m, 1h or 7d`, EXIT.invalidInput);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}
