/// <reference path="./.sst/platform/config.d.ts" />

// The deployment into the customer's AWS account. This file only loads infra/*: each concern has its
// own module there (infra/index.ts lists them in order). The region is pinned (DEPLOY_REGION): a
// stage never moves with the deploying shell's AWS_REGION.

export default $config({
  async app(input) {
    const { DEPLOY_REGION } = await import("./packages/aws/src/deployment");
    const production = input?.stage === "production";
    return {
      name: "inferencekey",
      removal: production ? "retain" : "remove",
      protect: production,
      home: "aws",
      providers: { aws: { region: DEPLOY_REGION, version: "7.20.0" } },
    };
  },
  async run() {
    const { deploy } = await import("./infra/index");
    return deploy();
  },
});
