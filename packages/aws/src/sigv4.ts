import { createHash, createHmac } from "node:crypto";

/**
 * AWS Signature Version 4 for the JSON-protocol calls of `AwsJsonClient` (a POST with a body, no
 * query string), on node:crypto: synchronous HMACs, nothing to load. The signing key depends only
 * on the day, region, service and secret, so it is derived once a day per client.
 */

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  /** Already URI-encoded, e.g. `/`. */
  path: string;
  /** Header names in any case; `host` included. */
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  credentials: AwsCredentials;
  date: Date;
}

const sha256Hex = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac("sha256", key).update(data, "utf8").digest();

/** `20301231T235959Z` and `20301231` for a date. */
export function amzDate(date: Date): { stamp: string; day: string } {
  const stamp = date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return { stamp, day: stamp.slice(0, 8) };
}

/** Caches the last derived signing key: one derivation a day for a long-lived Lambda instance. */
export class SigningKeyCache {
  #key: { secretAccessKey: string; day: string; region: string; service: string; value: Buffer } | undefined;

  get(secretAccessKey: string, day: string, region: string, service: string): Buffer {
    const key = this.#key;
    if (key !== undefined && key.secretAccessKey === secretAccessKey && key.day === day && key.region === region && key.service === service) {
      return key.value;
    }
    const value = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), "aws4_request");
    this.#key = { secretAccessKey, day, region, service, value };
    return value;
  }
}

/**
 * The headers to add to a request: `x-amz-date`, `x-amz-security-token` when the credentials have
 * one, and `authorization`. Every header given is signed.
 */
export function signRequest(
  input: SignInput,
  keys: SigningKeyCache = new SigningKeyCache(),
): Record<string, string> {
  const { stamp, day } = amzDate(input.date);
  const added: Record<string, string> = { "x-amz-date": stamp };
  if (input.credentials.sessionToken) added["x-amz-security-token"] = input.credentials.sessionToken;
  const all = new Map<string, string>();
  for (const [name, value] of Object.entries({ ...input.headers, ...added })) {
    // As the SDK's signer: line breaks become spaces, runs of spaces and tabs one space, ends trimmed;
    // any other character (a no-break space) is signed as sent.
    all.set(name.toLowerCase(), value.replace(/[\r\n]/g, " ").replace(/[ \t]+/g, " ").replace(/^ | $/g, ""));
  }
  const names = [...all.keys()].sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method,
    input.path,
    "",
    names.map((name) => `${name}:${all.get(name)}\n`).join(""),
    signedHeaders,
    sha256Hex(input.body),
  ].join("\n");
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = keys.get(input.credentials.secretAccessKey, day, input.region, input.service);
  const signature = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
  return {
    ...added,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
