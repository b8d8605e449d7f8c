import { createInterface } from "node:readline/promises";
import type { EnsureSpec, Workload } from "@inferencekey/sdk";
import type { CommandContext } from "../client";
import { CliError, EXIT, exitCodeOf } from "../errors";
import { loadManifests, type ManifestDocument } from "../manifest";

export interface ApplyOptions {
  file: string[];
  dryRun?: boolean;
  onDrift?: string;
  prune?: boolean;
  yes?: boolean;
}

/** The marker apply leaves on the workloads it applied (`managed_by`); `--prune` touches only those. */
export const MANAGER = "cli";

const ON_DRIFT = ["reconcile", "fail", "ignore"] as const;

/**
 * `inferencekey apply -f FILE|DIR|-`: validates every document, asks the server what each would
 * change (a dry run) and shows it, then applies them in order (and, with --prune, deletes the
 * workloads this CLI applied earlier that the files no longer declare). Returns the exit code.
 */
export async function apply(ctx: CommandContext, options: ApplyOptions, readStdin: () => string, confirm = askOnTerminal): Promise<number> {
  const onDrift = options.onDrift ?? "reconcile";
  if (!(ON_DRIFT as readonly string[]).includes(onDrift)) {
    throw new CliError(`--on-drift ${JSON.stringify(onDrift)} is not a choice: use reconcile, fail or ignore`, EXIT.invalidInput);
  }
  const { documents, problems } = loadManifests(options.file, readStdin);
  if (problems.length > 0) {
    throw new CliError(
      `${problems.length} problem(s) in the files; nothing was applied`,
      EXIT.invalidInput,
      problems.map((p) => `${p.where}: ${p.field === "" ? "" : `${p.field}: `}${p.message}`),
    );
  }
  if (documents.length === 0) throw new CliError("the files declare no workload", EXIT.invalidInput);
  const project = ctx.mgmt.project;

  // The plan: the server's own diff for every document before anything is written.
  const refused: string[] = [];
  const planned: { doc: ManifestDocument; spec: EnsureSpec; verb: "create" | "change" | "unchanged" }[] = [];
  for (const doc of documents) {
    const spec = toEnsureSpec(doc.spec);
    try {
      const preview = await ctx.mgmt.preview(spec, { onDrift: onDrift as (typeof ON_DRIFT)[number] });
      const verb = preview.created ? "create" : preview.changed ? "change" : "unchanged";
      planned.push({ doc, spec, verb });
      ctx.out(`${verb === "create" ? "+" : verb === "change" ? "~" : "="} ${project}/${spec.slug}${verb === "unchanged" ? " (unchanged)" : ""}\n`);
      for (const d of preview.differences) ctx.out(`    ${d.path}: ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}${verb === "unchanged" ? " (kept: --on-drift ignore)" : ""}\n`);
    } catch (error) {
      if (exitCodeOf(error) !== EXIT.driftRefused) throw error;
      const details = (error as { details?: { path: string; message: string }[] }).details ?? [];
      refused.push(`${project}/${spec.slug} (${doc.where}) differs from what is stored: ${details.map((d) => wirePath(d.path)).join(", ")}`);
    }
  }
  if (refused.length > 0) throw new CliError("--on-drift fail: these workloads drifted; nothing was applied", EXIT.driftRefused, refused);

  const declared = new Set(planned.map((p) => p.spec.slug));
  const pruned: Workload[] = [];
  if (options.prune) {
    for await (const workload of ctx.mgmt.listAll()) if (workload.managedBy === MANAGER && !declared.has(workload.slug)) pruned.push(workload);
    for (const workload of pruned) ctx.out(`- ${project}/${workload.slug} (applied earlier, no longer declared: would be deleted)\n`);
  }
  if (options.dryRun) {
    ctx.out("dry run: nothing was applied\n");
    return EXIT.ok;
  }
  if (pruned.length > 0 && !options.yes) {
    if (!ctx.interactive) {
      throw new CliError(`--prune would delete ${pruned.length} workload(s); pass --yes to confirm (there is no terminal to ask)`, EXIT.invalidInput);
    }
    if (!(await confirm(`Delete ${pruned.length} workload(s) listed with "-"? [y/N] `))) {
      throw new CliError("not confirmed; nothing was applied", EXIT.invalidInput);
    }
  }

  const done: string[] = [];
  const counts = { create: 0, change: 0, unchanged: 0, delete: 0 };
  try {
    for (const { spec } of planned) {
      const ref = await ctx.mgmt.ensure(spec, { onDrift: onDrift as (typeof ON_DRIFT)[number], manager: MANAGER });
      const verb = ref.created ? "create" : ref.changed ? "change" : "unchanged";
      counts[verb]++;
      done.push(`${verb === "create" ? "created" : verb === "change" ? "changed" : "unchanged"} ${project}/${spec.slug} (generation ${ref.generation})`);
    }
    for (const workload of pruned) {
      await ctx.mgmt.delete(workload.slug);
      counts.delete++;
      done.push(`deleted ${project}/${workload.slug}`);
    }
  } catch (error) {
    if (done.length === 0) throw error;
    const cause = error instanceof Error ? error.message : String(error);
    throw new CliError(`partly applied: ${cause}`, EXIT.partlyApplied, [...done, "not applied: the rest of the files (run apply again once the cause is fixed)"]);
  }
  for (const line of done) ctx.out(`${line}\n`);
  ctx.out(`applied ${planned.length} workload(s): ${counts.create} created, ${counts.change} changed, ${counts.unchanged} unchanged${options.prune ? `, ${counts.delete} pruned` : ""}\n`);
  return EXIT.ok;
}

/** The SDK names top-level fields as an ensure() caller wrote them (camelCase); files use the wire names. */
function wirePath(path: string): string {
  const [top = "", ...rest] = path.split(".");
  return [top.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), ...rest].join(".");
}

/** A file's wire fields as the SDK's ensure() takes them: top-level keys camelCase, nested ones as written. */
export function toEnsureSpec(wire: Record<string, unknown>): EnsureSpec {
  const spec: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(wire)) spec[key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = value;
  return spec as unknown as EnsureSpec;
}

async function askOnTerminal(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await terminal.question(question)).trim());
  } finally {
    terminal.close();
  }
}
