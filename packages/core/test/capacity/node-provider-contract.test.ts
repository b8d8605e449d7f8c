import { describeNodeProviderContract } from "../../../../test/contract/node-provider";
import { FaultyNodeProvider } from "./fake-node-provider";

// The fake the controller tests drive must behave as the port says, like every adapter.
describeNodeProviderContract("FaultyNodeProvider (no faults)", async () => {
  const provider = new FaultyNodeProvider(() => Date.parse("2026-11-30T10:00:00Z"));
  return {
    provider,
    addForeignInstance: async () => provider.addInstance({ instanceId: "i-foreign", instanceType: "g6.xlarge", availabilityZone: "us-east-1a", ours: false }).instanceId,
  };
});
