import { awsConfigFromEnv } from "./aws-config";
import { gatewayEnvironment } from "./env";
import { createS3Client, S3BlobStore } from "./s3-blob-store";

/** The key prefix of job blobs in the deployment's bucket. */
export const JOBS_BLOB_PREFIX = "jobs/";

/**
 * Job inputs and results over 256 KB, in the deployment's blob bucket (`INFERENCEKEY_BLOB_BUCKET`)
 * under `jobs/`: apart from the gateway's generated files (`files/`, deleted after a day), because
 * a result is kept up to 30 days; the bucket's lifecycle rule on `jobs/` must keep objects at least
 * 31 days (each object's own expiry is enforced on read). Undefined without a bucket: inputs over
 * 256 KB are then refused and larger results fail their job.
 */
export function jobsBlobStoreFromEnv(env: NodeJS.ProcessEnv = process.env): S3BlobStore | undefined {
  const { blobBucket, s3Endpoint } = gatewayEnvironment(env);
  if (blobBucket === undefined) return undefined;
  const { region } = awsConfigFromEnv(env);
  const client = createS3Client({
    ...(region === undefined ? {} : { region }),
    ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint }),
  });
  return new S3BlobStore({ bucket: blobBucket, prefix: JOBS_BLOB_PREFIX, client });
}
