import type { ProjectSecret } from "@inferencekey/sdk";
import type { Command } from "commander";
import type { CommandContext } from "../client";
import { CliError, EXIT } from "../errors";
import { type Columns, render } from "../output";

const SECRET_COLUMNS: Columns<ProjectSecret> = [
  ["NAME", (s) => s.name],
  ["CREATED", (s) => s.createdAt],
  ["UPDATED", (s) => s.updatedAt],
];

/**
 * The value as read from standard input: one trailing line break (what `echo` and a here-string
 * add) is dropped, nothing else, so a value may keep its own spaces.
 */
export function secretValueOf(stdin: string): string {
  return stdin.replace(/\r?\n$/, "");
}

export async function secretsSet(ctx: CommandContext, name: string, stdin: string): Promise<number> {
  const value = secretValueOf(stdin);
  if (value === "") {
    throw new CliError(`secrets set reads the value of ${name} on standard input (e.g. \`printenv HF_TOKEN | inferencekey secrets set HF_TOKEN\`); it was empty`, EXIT.invalidInput);
  }
  const secret = await ctx.mgmt.secrets.set(name, value);
  if (ctx.output !== "table") ctx.out(render(ctx.output, secret, []));
  else ctx.out(`set ${secret.name} in ${ctx.mgmt.project} (replicas started from now on get it)\n`);
  return EXIT.ok;
}

export async function secretsList(ctx: CommandContext): Promise<number> {
  ctx.out(render(ctx.output, await ctx.mgmt.secrets.list(), SECRET_COLUMNS));
  return EXIT.ok;
}

export async function secretsDelete(ctx: CommandContext, name: string): Promise<number> {
  const deleted = await ctx.mgmt.secrets.delete(name);
  ctx.out(`deleted ${deleted.name} from ${ctx.mgmt.project}\n`);
  return EXIT.ok;
}

/** `inferencekey secrets set|list|delete`, added to the program by main.ts. */
export function addSecretCommands(
  program: Command,
  context: (command: Command) => CommandContext,
  action: <A extends unknown[]>(work: (...args: A) => Promise<number>) => (...args: A) => Promise<void>,
  readStdin: () => string,
): void {
  const secrets = program.command("secrets").description("the project's secrets: environment variables of its backends (HF_TOKEN...)");
  secrets
    .command("set <name>")
    .description("create or replace a secret; the value is read from standard input and never printed")
    .addHelpText("after", "\nExample:\n  printenv HF_TOKEN | inferencekey secrets set HF_TOKEN --project acme\n")
    .action(action(async (name: string, _options: unknown, command: Command) => secretsSet(context(command), name, readStdin())));
  secrets
    .command("list")
    .description("list the project's secrets (names and times, never values)")
    .addHelpText("after", "\nExample:\n  inferencekey secrets list --project acme\n")
    .action(action(async (_options: unknown, command: Command) => secretsList(context(command))));
  secrets
    .command("delete <name>")
    .description("delete a secret; running replicas keep it until they next start")
    .addHelpText("after", "\nExample:\n  inferencekey secrets delete HF_TOKEN --project acme\n")
    .action(action(async (name: string, _options: unknown, command: Command) => secretsDelete(context(command), name)));
}
