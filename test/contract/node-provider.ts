import type { NodeLaunchRequest, NodeProvider } from "@inferencekey/core";
import { describe, expect, it } from "vitest";

/** A provider under test, and a way to put an instance without this deployment's tags beside it. */
export interface NodeProviderUnderTest {
  provider: NodeProvider;
  /** Creates an instance someone else owns (no app/stage tags of ours), returning its id. */
  addForeignInstance(): Promise<string>;
  /** Released after the case (an emulator, a server). */
  close?(): Promise<void>;
}

/** Builds a fresh provider over an empty cloud. */
export type NodeProviderFactory = () => Promise<NodeProviderUnderTest>;

function request(overrides: Partial<NodeLaunchRequest> = {}): NodeLaunchRequest {
  return {
    nodeId: "node_contract0001",
    attempt: 1,
    instanceType: "g6.xlarge",
    availabilityZone: "us-east-1a",
    cudaVersion: "12.8",
    launchToken: "ik_wrk_EXAMPLEexampleEXAMPLEex000000",
    ...overrides,
  };
}

/**
 * The behaviour every NodeProvider adapter must have (packages/core/src/capacity/node-provider.ts):
 * the controller's shared capacity relies on each of these, whatever the cloud.
 */
export function describeNodeProviderContract(
  name: string,
  factory: NodeProviderFactory,
  /** Emulators that do not deduplicate ClientTokens (moto) skip that case, saying so; unit tests with call assertions cover it. */
  options: { clientTokenSkipReason?: string } = {},
): void {
  describe(`NodeProvider contract: ${name}`, () => {
    const withProvider = (body: (under: NodeProviderUnderTest) => Promise<void>) => async () => {
      const under = await factory();
      try {
        await body(under);
      } finally {
        await under.close?.();
      }
    };

    it(
      "launch returns the instance, and listOwned reports it with its node id, type and zone",
      withProvider(async ({ provider }) => {
        const outcome = await provider.launch(request());
        expect(outcome.kind).toBe("launched");
        const id = outcome.kind === "launched" ? outcome.instanceId : "";
        const owned = (await provider.listOwned()).find((i) => i.instanceId === id);
        expect(owned).toMatchObject({ instanceId: id, nodeId: "node_contract0001", instanceType: "g6.xlarge", availabilityZone: "us-east-1a" });
        expect(owned?.launchedAt).toBeInstanceOf(Date);
      }),
    );

    (options.clientTokenSkipReason === undefined ? it : it.skip)(
      `the same request again (a retry after a lost answer) finds the same instance instead of launching another${options.clientTokenSkipReason === undefined ? "" : ` (skipped: ${options.clientTokenSkipReason})`}`,
      withProvider(async ({ provider }) => {
        const first = await provider.launch(request());
        const again = await provider.launch(request());
        expect(again).toEqual(expect.objectContaining({ kind: "launched", instanceId: first.kind === "launched" ? first.instanceId : "?" }));
        const live = (await provider.listOwned()).filter((i) => i.nodeId === "node_contract0001" && i.state !== "terminated");
        expect(live).toHaveLength(1);
      }),
    );

    it(
      "a new attempt of the same node is a new launch",
      withProvider(async ({ provider }) => {
        const first = await provider.launch(request());
        const second = await provider.launch(request({ attempt: 2, availabilityZone: "us-east-1b" }));
        expect(second.kind).toBe("launched");
        expect(second.kind === "launched" && first.kind === "launched" && second.instanceId !== first.instanceId).toBe(true);
      }),
    );

    it(
      "terminate ends the instance and is idempotent (an instance already gone counts as terminated)",
      withProvider(async ({ provider }) => {
        const outcome = await provider.launch(request());
        const id = outcome.kind === "launched" ? outcome.instanceId : "";
        await provider.terminate([id]);
        await provider.terminate([id]);
        const after = (await provider.listOwned()).find((i) => i.instanceId === id);
        expect(after === undefined || after.state === "shutting-down" || after.state === "terminated").toBe(true);
      }),
    );

    it(
      "listOwned never reports an instance without this deployment's tags",
      withProvider(async ({ provider, addForeignInstance }) => {
        const foreign = await addForeignInstance();
        await provider.launch(request());
        const owned = await provider.listOwned();
        expect(owned.map((i) => i.instanceId)).not.toContain(foreign);
        expect(owned.length).toBeGreaterThan(0);
      }),
    );
  });
}
