import { GetObjectCommand, type GetObjectCommandOutput, PutObjectCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { assertBlobKey, type BlobStore, type StoredBlob } from "@inferencekey/core";

export interface S3BlobStoreOptions {
  bucket: string;
  /** Prepended to every object key, e.g. `files/` (the bucket's lifecycle rule filters on it). Default `files/`. */
  prefix?: string;
  /** Defaults to a client configured from the environment (`createS3Client`). */
  client?: S3Client;
}

export interface S3ClientOptions {
  region?: string;
  /** An emulator (moto server) instead of AWS; path-style addressing is then used. */
  endpoint?: string;
  credentials?: S3ClientConfig["credentials"];
}

/** The one way to build an S3 client in this codebase: short timeouts and retries, as for DynamoDB. */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  return new S3Client({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, forcePathStyle: true }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    maxAttempts: 3,
    retryMode: "standard",
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  });
}

/** Object metadata holding the blob's expiry (S3 lowercases metadata names). */
const EXPIRES_METADATA = "expires-at";

/**
 * Generated files (images asked for as URLs) in an S3 bucket, for the Lambda gateway. The gateway
 * still signs their URLs and serves them itself (`/endpoint/.../v1/files/{id}`): a presigned S3 URL
 * would be signed with the function's session credentials and die with them, long before the
 * file's own expiry. Each object records its expiry in its metadata and `get` refuses it after
 * that; the bucket's lifecycle rule deletes objects under the prefix a day after creation (the
 * smallest lifecycle unit, above the URLs' one-hour default).
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly options: S3BlobStoreOptions) {
    this.client = options.client ?? createS3Client();
    this.prefix = options.prefix ?? "files/";
  }

  async put(key: string, blob: StoredBlob): Promise<void> {
    assertBlobKey(key);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: `${this.prefix}${key}`,
        Body: blob.data,
        ContentType: blob.contentType,
        ContentLength: blob.data.byteLength,
        Metadata: { [EXPIRES_METADATA]: blob.expiresAt.toISOString() },
      }),
    );
  }

  async get(key: string, now: Date): Promise<StoredBlob | undefined> {
    assertBlobKey(key);
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: `${this.prefix}${key}` }));
    } catch (error) {
      if (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound")) return undefined;
      throw error;
    }
    const expiresAt = new Date(out.Metadata?.[EXPIRES_METADATA] ?? Number.NaN);
    // No readable expiry is no proof the file may still be served.
    if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= now.getTime() || out.Body === undefined) return undefined;
    return { data: await out.Body.transformToByteArray(), contentType: out.ContentType ?? "application/octet-stream", expiresAt };
  }
}
