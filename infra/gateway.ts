import { files } from "./files";
import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";
import { jobsAccess } from "./queues";

// The data gateway (`/endpoint` behind the Router): ik_live_ keys are checked in code; the Function
// URL streams responses (RESPONSE_STREAM) so SSE chunks reach clients as replicas send them.
export const gateway = new sst.aws.Function(
  "Gateway",
  platformFunction({
    service: "gateway",
    handler: "functions/gateway.handler",
    url: true,
    streaming: true,
    // A streamed generation may run for minutes; the gateway's first-byte and idle timeouts end stalled ones.
    timeout: "15 minutes",
    memory: "1024 MB",
    // The async jobs API (/v1/jobs) sends to the job queue and keeps large inputs under jobs/.
    environment: { ...jobsAccess.environment, INFERENCEKEY_BLOB_BUCKET: files.name },
    permissions: [
      ...tablePermissions(TABLE_ITEM_ACTIONS),
      ...jobsAccess.permissions,
      // Generated files only: written once, read back to serve a signed URL.
      { actions: ["s3:PutObject", "s3:GetObject"], resources: [$interpolate`${files.arn}/files/*`] },
    ],
  }),
);

export const outputs = {};
