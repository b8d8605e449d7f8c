import {
  APIConnectionError,
  AuthenticationError,
  ConfigurationError,
  DriftError,
  InferenceKeyError,
  InternalServerError,
  PermissionDeniedError,
} from "@inferencekey/sdk";

/** The exit codes the CLI promises (docs/cli.md): scripts and CI branch on them. */
export const EXIT = {
  ok: 0,
  invalidInput: 1,
  driftRefused: 2,
  authentication: 3,
  networkOrServer: 4,
  partlyApplied: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as it is: one line, optional detail lines, an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly detailLines: string[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Which exit code an error means. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof DriftError) return EXIT.driftRefused;
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) return EXIT.authentication;
  if (error instanceof APIConnectionError || error instanceof InternalServerError) return EXIT.networkOrServer;
  if (error instanceof ConfigurationError) return EXIT.authentication;
  if (error instanceof InferenceKeyError) return (error.status ?? 500) >= 500 ? EXIT.networkOrServer : EXIT.invalidInput;
  return EXIT.networkOrServer;
}

/**
 * The error as a person reads it: one line (what, and the server's request id), then the details
 * (field, value, what is accepted). A stack trace only with --debug.
 */
export function describeError(error: unknown, debug: boolean): string[] {
  const lines: string[] = [];
  if (error instanceof CliError) {
    lines.push(`error: ${error.message}`, ...error.detailLines.map((line) => `  ${line}`));
  } else if (error instanceof InferenceKeyError) {
    const request = error.requestId === undefined ? "" : ` (request ${error.requestId})`;
    lines.push(`error: ${error.message}${request}`);
    for (const detail of error.details) {
      const parts = [`${detail.path === "" ? "(spec)" : detail.path}: ${detail.message}`];
      if (detail.expected !== undefined) parts.push(`expected ${detail.expected}`);
      if (detail.suggestion !== undefined) parts.push(`did you mean ${JSON.stringify(detail.suggestion)}?`);
      lines.push(`  ${parts.join("; ")}`);
    }
  } else {
    lines.push(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (debug && error instanceof Error && error.stack !== undefined) lines.push(error.stack);
  return lines;
}
