import { type PlatformContext, parseServerSecretKeyring, type ServerSecretKeyring } from "@inferencekey/core";
import { FUNCTION_ENV } from "./deployment";
import { DynamoStore } from "./dynamo-store";

/**
 * What the Lambda functions read from their environment, read in this one place (the DynamoDB
 * client's region and endpoint are read by `awsConfigFromEnv`). The server secret is not in it:
 * only the name of the SSM parameter holding it, which the secrets middleware reads at init.
 */
export interface LambdaEnvironment {
  tableName: string;
  serverSecretParameter: string;
  publicUrl?: string;
}

export function lambdaEnvironment(env: NodeJS.ProcessEnv = process.env): LambdaEnvironment {
  const missing = [FUNCTION_ENV.table, FUNCTION_ENV.serverSecretParameter].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`missing environment: ${missing.join(", ")} (set by infra/)`);
  const publicUrl = env[FUNCTION_ENV.publicUrl];
  return {
    tableName: env[FUNCTION_ENV.table] as string,
    serverSecretParameter: env[FUNCTION_ENV.serverSecretParameter] as string,
    ...(publicUrl ? { publicUrl } : {}),
  };
}

/**
 * The server secret keyring of one Lambda instance, filled by the secrets middleware before each
 * invocation from its cached SSM value (a rotated value is taken up when the cache expires).
 */
export class ServerSecretHolder {
  #text: string | undefined;
  #keyring: ServerSecretKeyring | undefined;

  /** Stores the keyring read from SSM; parsing happens only when the text changed. */
  set(text: string): void {
    if (text === this.#text) return;
    this.#keyring = parseServerSecretKeyring(text);
    this.#text = text;
  }

  get keyring(): ServerSecretKeyring {
    if (this.#keyring === undefined) throw new Error("the server secret is not loaded yet: the secrets middleware fills it before the handler runs");
    return this.#keyring;
  }
}

/**
 * The platform context every Lambda entry runs with: the DynamoDB table, the server secret (read
 * through the holder, so it can be created at init before the secret is fetched), the wall clock.
 */
export function lambdaPlatformContext(secrets: ServerSecretHolder, env: NodeJS.ProcessEnv = process.env): PlatformContext {
  const { tableName } = lambdaEnvironment(env);
  return {
    store: new DynamoStore({ tableName }),
    get serverSecret() {
      return secrets.keyring.current.secret;
    },
    get serverSecretKeyring() {
      return secrets.keyring;
    },
    now: () => new Date(),
  };
}

/** What only the gateway function reads: both optional, and images asked for as URLs need both. */
export interface GatewayEnvironment {
  /** The S3 bucket for generated files (`INFERENCEKEY_BLOB_BUCKET`, with a lifecycle rule on `files/`). */
  blobBucket?: string;
  /** The deployment's public base URL (`INFERENCEKEY_PUBLIC_URL`), for the file URLs the gateway signs. */
  publicUrl?: string;
  /** An S3 emulator instead of AWS (`INFERENCEKEY_S3_ENDPOINT`, tests). */
  s3Endpoint?: string;
}

export function gatewayEnvironment(env: NodeJS.ProcessEnv = process.env): GatewayEnvironment {
  const read = (name: string) => env[name]?.trim() || undefined;
  const blobBucket = read("INFERENCEKEY_BLOB_BUCKET");
  const publicUrl = read("INFERENCEKEY_PUBLIC_URL");
  const s3Endpoint = read("INFERENCEKEY_S3_ENDPOINT");
  return {
    ...(blobBucket === undefined ? {} : { blobBucket }),
    ...(publicUrl === undefined ? {} : { publicUrl }),
    ...(s3Endpoint === undefined ? {} : { s3Endpoint }),
  };
}

/** What the controller functions read: the queue of project passes, when the tick fans out. */
export interface ControllerEnvironment {
  /** `INFERENCEKEY_CONTROLLER_QUEUE_URL`: set, the tick sends one message per project; unset, it reconciles everything itself. */
  queueUrl?: string;
  /** An SQS emulator instead of AWS (`INFERENCEKEY_SQS_ENDPOINT`, tests). */
  sqsEndpoint?: string;
}

export function controllerEnvironment(env: NodeJS.ProcessEnv = process.env): ControllerEnvironment {
  const queueUrl = env.INFERENCEKEY_CONTROLLER_QUEUE_URL?.trim() || undefined;
  const sqsEndpoint = env.INFERENCEKEY_SQS_ENDPOINT?.trim() || undefined;
  return { ...(queueUrl === undefined ? {} : { queueUrl }), ...(sqsEndpoint === undefined ? {} : { sqsEndpoint }) };
}
