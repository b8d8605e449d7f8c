import { AwsClient } from "aws4fetch";

/**
 * Reads one SSM SecureString parameter (decrypted), cached for `cacheMs`: how the Lambda entries
 * get the server secret at init. A signed HTTPS call (aws4fetch, SigV4) instead of the SSM SDK
 * client: the same API call for about a millisecond of load time instead of a hundred, which
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
  readonly #env: NodeJS.ProcessEnv;
  readonly #now: () => number;
  #value: { text: string; at: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: SsmParameterOptions) {
    this.#name = options.name;
    this.#cacheMs = options.cacheMs ?? 300_000;
    this.#env = options.env ?? process.env;
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
    const env = this.#env;
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (region === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
      throw new SsmParameterError("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them) to read the server secret");
    }
    const client = new AwsClient({ accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}), service: "ssm", region, retries: 2 });
    const endpoint = env.AWS_ENDPOINT_URL_SSM ?? env.AWS_ENDPOINT_URL ?? `https://ssm.${region}.amazonaws.com`;
    const response = await client.fetch(`${endpoint.replace(/\/+$/, "")}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter" },
      body: JSON.stringify({ Name: this.#name, WithDecryption: true }),
    });
    const body = (await response.json().catch(() => ({}))) as { Parameter?: { Value?: string }; __type?: string; message?: string };
    if (!response.ok || typeof body.Parameter?.Value !== "string") {
      const type = (body.__type ?? `HTTP ${response.status}`).split("#").pop();
      throw new SsmParameterError(`reading SSM parameter ${this.#name} failed: ${type}${body.message ? ` (${body.message.slice(0, 200)})` : ""}`);
    }
    this.#value = { text: body.Parameter.Value, at: this.#now() };
    return body.Parameter.Value;
  }
}
