import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { type CommandContext, commandContext, type GlobalOptions, type Io } from "./client";
import { apply } from "./commands/apply";
import { catalogGpus, keysCreate, keysList, keysRevoke, keysRotate, workersDeregister, workersList, workersRegister } from "./commands/keys-workers";
import { login } from "./commands/login";
import { addSecretCommands } from "./commands/secrets";
import { events, get, list, remove, status, usage } from "./commands/workloads";
import { completionScript } from "./completion";
import { CliError, describeError, EXIT, exitCodeOf } from "./errors";

/**
 * Builds the `inferencekey` program. Every action resolves to an exit code (docs/cli.md); `run`
 * prints errors as one line plus details and never a stack trace unless --debug.
 */
export function buildProgram(io: Io, readStdin: () => string, setExit: (code: number) => void): Command {
  const program = new Command("inferencekey")
    .description("Apply InferenceKey workloads from files, watch them, and manage keys and workers.")
    .option("--project <name>", "project to act on (default: INFERENCEKEY_PROJECT, else the profile's)")
    .option("--profile <name>", "profile of the config file to use when the environment has no token", "default")
    .addOption(new Option("-o, --output <format>", "table, json or yaml (read commands)").default("table"))
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  const context = (command: Command, needsProject = true): CommandContext => commandContext(command.optsWithGlobals<GlobalOptions>(), io, needsProject);
  const action =
    <A extends unknown[]>(work: (...args: A) => Promise<number>) =>
    async (...args: A) => setExit(await work(...args));

  program
    .command("apply")
    .description("create or update the workloads declared in files (YAML or JSON, several per file)")
    .requiredOption("-f, --file <path...>", "a file, a directory of .yaml/.yml/.json files, or - for standard input")
    .option("--dry-run", "show what would change and stop")
    .addOption(new Option("--on-drift <mode>", "when a stored workload differs").choices(["reconcile", "fail", "ignore"]).default("reconcile"))
    .option("--prune", "delete workloads this CLI applied earlier that the files no longer declare")
    .option("-y, --yes", "confirm --prune without asking (required without a terminal)")
    .addHelpText("after", "\nExample:\n  inferencekey apply -f workloads/ --project acme --dry-run\n  inferencekey apply -f workloads/ --project acme --prune --yes\n")
    .action(action(async (options: { file: string[]; dryRun?: boolean; onDrift?: string; prune?: boolean; yes?: boolean }, command: Command) =>
      apply(context(command), options, readStdin),
    ));

  program
    .command("list")
    .description("list the project's workloads")
    .addHelpText("after", "\nExample:\n  inferencekey list --project acme -o json\n")
    .action(action(async (_options: unknown, command: Command) => list(context(command))));

  program
    .command("get <slug>")
    .description("print a workload's stored spec (as YAML), or the whole workload with -o json|yaml")
    .addHelpText("after", "\nExample:\n  inferencekey get support-bot --project acme\n")
    .action(action(async (slug: string, _options: unknown, command: Command) => get(context(command), slug)));

  program
    .command("delete <slug>")
    .description("delete a workload: its replicas stop")
    .addHelpText("after", "\nExample:\n  inferencekey delete support-bot --project acme\n")
    .action(action(async (slug: string, _options: unknown, command: Command) => remove(context(command), slug)));

  program
    .command("status <slug>")
    .description("the controller's decision and the replicas, once or live")
    .option("-w, --watch", "refresh until interrupted (in place on a terminal, plain lines otherwise)")
    .option("--until-ready", "refresh until every desired replica is ready, then exit 0")
    .option("--timeout <seconds>", "with --until-ready: give up after this long (exit 4)")
    .addHelpText("after", "\nExample:\n  inferencekey status support-bot --project acme --watch\n")
    .action(action(async (slug: string, options: { watch?: boolean; untilReady?: boolean; timeout?: string }, command: Command) =>
      status(context(command), slug, { ...options, ...(options.timeout === undefined ? {} : { timeoutSeconds: positive(options.timeout, "--timeout") }) }),
    ));

  program
    .command("events <slug>")
    .description("a workload's latest events, oldest first")
    .option("-f, --follow", "keep printing new events as they happen")
    .option("--limit <n>", "how many of the latest events to show first", "20")
    .addHelpText("after", "\nExample:\n  inferencekey events support-bot --project acme --follow\n")
    .action(action(async (slug: string, options: { follow?: boolean; limit: string }, command: Command) =>
      events(context(command), slug, { ...options, limit: positive(options.limit, "--limit") }),
    ));

  program
    .command("usage <slug>")
    .description("requests, errors, tokens and latency of a workload, in total and per key")
    .option("--since <duration>", "how far back: 90s, 15m, 1h, 7d", "1h")
    .addHelpText("after", "\nExample:\n  inferencekey usage support-bot --project acme --since 24h\n")
    .action(action(async (slug: string, options: { since: string }, command: Command) => usage(context(command), slug, options)));

  const keys = program.command("keys").description("a workload's ik_live_ data keys");
  keys
    .command("create <workload>")
    .description("create a data key; the key is printed once")
    .requiredOption("--name <name>", "a name for the key")
    .option("--rate-limit <perMinute>", "requests per minute the gateway admits with this key")
    .option("--max-concurrent <requests>", "requests of this key the gateway lets run at once (1-1000)")
    .addHelpText("after", "\nExample:\n  inferencekey keys create support-bot --name web --project acme\n")
    .action(
      action(async (workload: string, options: { name: string; rateLimit?: string; maxConcurrent?: string }, command: Command) =>
        keysCreate(context(command), workload, options),
      ),
    );
  keys
    .command("list <workload>")
    .description("list a workload's keys (never the keys themselves)")
    .addHelpText("after", "\nExample:\n  inferencekey keys list support-bot --project acme\n")
    .action(action(async (workload: string, _options: unknown, command: Command) => keysList(context(command), workload)));
  keys
    .command("rotate <workload> <keyId>")
    .description("replace a key; the old one keeps working for --old-expires-in seconds (default 24 h)")
    .option("--old-expires-in <seconds>", "0 revokes the old key at once")
    .addHelpText("after", "\nExample:\n  inferencekey keys rotate support-bot key_abc --old-expires-in 3600 --project acme\n")
    .action(action(async (workload: string, keyId: string, options: { oldExpiresIn?: string }, command: Command) =>
      keysRotate(context(command), workload, keyId, options),
    ));
  keys
    .command("revoke <workload> <keyId>")
    .description("revoke a key at once")
    .addHelpText("after", "\nExample:\n  inferencekey keys revoke support-bot key_abc --project acme\n")
    .action(action(async (workload: string, keyId: string, _options: unknown, command: Command) => keysRevoke(context(command), workload, keyId)));

  const workers = program.command("workers").description("the project's private workers (your GPU boxes)");
  workers
    .command("register")
    .description("register a worker; prints its token once and the agent command to run")
    .requiredOption("--name <name>", "a name for the box")
    .option("--address <ipOrCidr...>", "the addresses its agent may advertise (the gateway dials it only there); repeatable")
    .addHelpText("after", "\nExample:\n  inferencekey workers register --name gpu-box-1 --address 10.0.3.0/24 --project acme\n")
    .action(action(async (options: { name: string; address?: string[] }, command: Command) => workersRegister(context(command), options)));
  workers
    .command("list")
    .description("list workers with their GPUs, last heartbeat and replicas")
    .addHelpText("after", "\nExample:\n  inferencekey workers list --project acme\n")
    .action(action(async (_options: unknown, command: Command) => workersList(context(command))));
  workers
    .command("deregister <workerId>")
    .description("deregister a worker: its token stops working for good")
    .addHelpText("after", "\nExample:\n  inferencekey workers deregister wrk_abc --project acme\n")
    .action(action(async (workerId: string, _options: unknown, command: Command) => workersDeregister(context(command), workerId)));

  addSecretCommands(program, (command) => context(command), action, readStdin);

  program
    .command("catalog")
    .description("the platform's catalogs")
    .command("gpus")
    .description("the GPUs gpu_pool accepts, with VRAM, price and CUDA versions")
    .addHelpText("after", "\nExample:\n  inferencekey catalog gpus\n")
    .action(action(async (_options: unknown, command: Command) => catalogGpus(context(command, false))));

  program
    .command("login")
    .description("check an ik_sdk_ token (read from standard input) and keep it in the config file (mode 0600)")
    .requiredOption("--base-url <url>", "the platform's base URL")
    .addHelpText("after", "\nNeeds --project: the project commands act on by default.\n\nExample:\n  echo \"$TOKEN\" | inferencekey login --base-url http://127.0.0.1:8787 --project acme\n")
    .action(action(async (options: { baseUrl: string }, command: Command) => {
      const { project, profile } = command.optsWithGlobals<GlobalOptions>();
      if (project === undefined) throw new CliError("login needs --project NAME: the project commands act on by default", EXIT.invalidInput);
      return login({ baseUrl: options.baseUrl, project, profile: profile ?? "default" }, readStdin(), io);
    }));

  program
    .command("completion <shell>")
    .description("print a shell completion script (bash or zsh)")
    .addHelpText("after", "\nExample:\n  source <(inferencekey completion bash)\n")
    .action(action(async (shell: string) => {
      io.out(completionScript(program, shell));
      return EXIT.ok;
    }));

  return program;
}

function positive(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new CliError(`${flag} ${JSON.stringify(value)} is not a whole number of at least 1`, EXIT.invalidInput);
  return number;
}

/** Runs the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: readonly string[], io: Io, readStdin: () => string = () => readFileSync(0, "utf8")): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, readStdin, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; usage errors were printed by commander already.
      return error.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
    }
    for (const line of describeError(error, argv.includes("--debug"))) io.err(`${line}\n`);
    return exitCodeOf(error);
  }
}
