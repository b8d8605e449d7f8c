/// <reference path="./.sst/platform/config.d.ts" />

// The deployment into the customer's AWS account. This file only loads infra/*: each concern has its
// own module there (infra/index.ts lists them in order). The region is pinned per deployment: a
// stage never moves with the deploying shell's AWS_REGION (docs/deploy.md: change it before the
// first deploy, never after).
const REGION = "us-east-1";

export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "inferencekey",
      removal: production ? "retain" : "remove",
      protect: production,
      home: "aws",
      providers: { aws: { region: REGION, version: "7.20.0" } },
    };
  },
  async run() {
    const { deploy } = await import("./infra/index");
    return deploy();
  },
});
