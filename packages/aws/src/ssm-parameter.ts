import { AwsJsonClient, AwsServiceError } from "./aws-json-client";

/**
 * Reads one SSM SecureString parameter (decrypted), cached for `cacheMs`: how the Lambda entries
 * get the server secret at init. One signed call through `AwsJsonClient` instead of the SSM SDK
 * client: the same API call for almost no load time instead of a hundred milliseconds, which
 * every cold start would pay. Credentials are the execution role's, which Lambda puts in the
 * environment; `AWS_ENDPOINT_URL_SSM` (or `AWS_ENDPOINT_URL`) points it at an emulator.
 */
export interface SsmParameterOptions {
  name: string;
  /** Default 300000: a rotated value reaches every instance within this. */
  cacheMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export class SsmParameterError extends Error {
  override readonly name = "SsmParameterError";
}

/** The value of a SecureString parameter, fetched once and again when the cache expires. */
export class SsmParameter {
  readonly #name: string;
  readonly #cacheMs: number;
  readonly #client: AwsJsonClient;
  readonly #now: () => number;
  #value: { text: string; at: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: SsmParameterOptions) {
    this.#name = options.name;
    this.#cacheMs = options.cacheMs ?? 300_000;
    this.#client = new AwsJsonClient({ service: "ssm", env: options.env ?? process.env });
    this.#now = options.now ?? Date.now;
  }

  /** The cached value while fresh; otherwise one fetch shared by concurrent callers. */
  async value(): Promise<string> {
    if (this.#value !== undefined && this.#now() - this.#value.at < this.#cacheMs) return this.#value.text;
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetch(): Promise<string> {
    let value: unknown;
    try {
      const answer = await this.#client.call<{ Parameter?: { Value?: unknown } }>("GetParameter", { Name: this.#name, WithDecryption: true });
      value = answer.Parameter?.Value;
    } catch (error) {
      const detail = error instanceof AwsServiceError ? `${error.name}${error.message ? ` (${error.message.slice(0, 200)})` : ""}` : String(error);
      throw new SsmParameterError(`reading SSM parameter ${this.#name} failed: ${detail}`);
    }
    if (typeof value !== "string") throw new SsmParameterError(`reading SSM parameter ${this.#name} failed: the answer has no value`);
    this.#value = { text: value, at: this.#now() };
    return value;
  }
}
