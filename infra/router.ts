import { routerViewerRequestInjection } from "../packages/aws/src/deployment";
import { originHeader } from "./secrets";

// The one public base URL (INFERENCEKEY_BASE_URL of both SDKs): a CloudFront distribution whose
// path routes (infra/routes.ts) lead to the Function URLs. Its viewer-request function (the same
// code the local router runs in tests) refuses bodies Lambda would refuse with our 413 and adds the
// origin header the functions check; the caller's Authorization passes through untouched (no
// origin access control, which would sign the request in its place). INFERENCEKEY_DOMAIN sets a
// custom domain (its DNS zone in Route 53). Created before the functions, which get its URL.
const domain = process.env.INFERENCEKEY_DOMAIN?.trim() || undefined;

export const router = new sst.aws.Router("Router", {
  ...(domain === undefined ? {} : { domain }),
  edge: { viewerRequest: { injection: originHeader.apply((value) => routerViewerRequestInjection(value)) } },
});

export const outputs = { baseUrl: router.url };
