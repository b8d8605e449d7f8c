import { originHeaderValue } from "../packages/aws/src/deployment";
import { parseServerSecretKeyring } from "../packages/core/src/secrets/index";

// The HMAC server secret (digests of every token and key), set once per stage with
// `npm run sst -- secret set ServerSecret <secret> --stage <stage>`; rotation adds versions
// (`2:<new>,1:<old>`, docs/deploy.md). Functions never get it in their environment: it is copied
// into an SSM SecureString parameter that only they may read, at init, through the secrets middleware.
export const serverSecret = new sst.Secret("ServerSecret");

export const serverSecretParameter = new aws.ssm.Parameter("ServerSecretParameter", {
  name: `/inferencekey/${$app.stage}/server-secret`,
  type: "SecureString",
  value: serverSecret.value,
  description: "InferenceKey server secret keyring (version:secret entries, current first)",
});

// CloudFront adds this header to every request it forwards; the functions refuse requests without it.
export const originHeader = serverSecret.value.apply((text) => originHeaderValue(parseServerSecretKeyring(text).current.secret));

export const outputs = {};
