/// <reference path="./.sst/platform/config.d.ts" />

// The deployment into the customer's AWS account. This file only loads infra/*: each concern
// (storage, queues, api, gateway, controller, network, compute) has its own module there.
export default $config({
  app(input) {
    return {
      name: "inferencekey",
      removal: input?.stage === "production" ? "retain" : "remove",
      home: "aws",
    };
  },
  async run() {
    const storage = await import("./infra/storage");
    const api = await import("./infra/api");
    const compute = await import("./infra/compute");
    const controller = await import("./infra/controller");
    const gateway = await import("./infra/gateway");
    return { ...storage.outputs, ...api.outputs, ...compute.outputs, ...controller.outputs, ...gateway.outputs };
  },
});
