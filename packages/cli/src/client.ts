import { ManagementClient } from "@inferencekey/sdk";
import { type Credentials, resolveCredentials } from "./config";
import { CliError, EXIT } from "./errors";
import { type OutputFormat, parseOutputFormat } from "./output";

/** The options every command accepts (see `program` in main.ts). */
export interface GlobalOptions {
  project?: string;
  profile?: string;
  output?: string;
  debug?: boolean;
}

/** What a command works with: a client for the project, the output format, where to write. */
export interface CommandContext {
  mgmt: ManagementClient;
  credentials: Credentials;
  output: OutputFormat;
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when standard output is a terminal (live views redraw in place; otherwise plain lines). */
  interactive: boolean;
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  interactive: boolean;
  env: NodeJS.ProcessEnv;
}

/** Builds the command context; commands that act on a project require one. */
export function commandContext(options: GlobalOptions, io: Io, needsProject = true): CommandContext {
  const credentials = resolveCredentials(options, io.env);
  if (needsProject && credentials.project === undefined) {
    throw new CliError("no project: pass --project NAME, set INFERENCEKEY_PROJECT, or `inferencekey login --project NAME`", EXIT.invalidInput);
  }
  const mgmt = new ManagementClient({ token: credentials.token, baseUrl: credentials.baseUrl, project: credentials.project ?? "-" });
  return { mgmt, credentials, output: parseOutputFormat(options.output ?? "table"), out: io.out, err: io.err, interactive: io.interactive };
}
