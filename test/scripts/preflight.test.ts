import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient, ListFunctionsCommand } from "@aws-sdk/client-lambda";
import { reservedConcurrencyProblems } from "@inferencekey/aws";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { preflight, stageOf } from "../../scripts/preflight";

const lambda = mockClient(LambdaClient);

afterEach(() => lambda.reset());

function account(concurrentExecutions: number, unreserved: number, functions: { name: string; reserved?: number }[] = []): void {
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: concurrentExecutions, UnreservedConcurrentExecutions: unreserved } });
  lambda.on(ListFunctionsCommand).resolves({ Functions: functions.map((fn) => ({ FunctionName: fn.name })) });
  for (const fn of functions) {
    lambda.on(GetFunctionConcurrencyCommand, { FunctionName: fn.name }).resolves(fn.reserved === undefined ? {} : { ReservedConcurrentExecutions: fn.reserved });
  }
}

describe("deploy preflight: reserved concurrency", () => {
  it("asks nothing of the account when no reservation is requested", async () => {
    await expect(preflight("prod", {}, new LambdaClient({ region: "us-east-1" }))).resolves.toEqual([]);
    expect(lambda.calls()).toHaveLength(0);
  });

  it("refuses reservations that would leave fewer than 100 unreserved executions, naming the numbers", async () => {
    account(10, 10);

    const problems = await preflight("prod", { INFERENCEKEY_RESERVED_CONCURRENCY: "gateway=5" }, new LambdaClient({ region: "us-east-1" }));

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("reserved concurrency 5 (gateway=5) is more than this account can reserve: 0 of its 10 concurrent executions");
  });

  it("gives back what this stage's functions reserve already before counting (a redeploy moves reservations)", async () => {
    account(1000, 150, [
      { name: "inferencekey-prod-GatewayFunction-abc", reserved: 800 },
      { name: "inferencekey-dev-GatewayFunction-def", reserved: 50 },
      { name: "other-app-fn" },
    ]);

    const problems = await preflight("prod", { INFERENCEKEY_RESERVED_CONCURRENCY: "gateway=800,control-api=50" }, new LambdaClient({ region: "us-east-1" }));

    expect(problems).toEqual([]);
    expect(lambda.commandCalls(GetFunctionConcurrencyCommand).map((call) => call.args[0].input.FunctionName)).toEqual(["inferencekey-prod-GatewayFunction-abc"]);
  });

  it("reads the stage from the deploy's arguments", () => {
    expect(stageOf(["--stage", "production"])).toBe("production");
    expect(stageOf(["--stage=dev", "--verbose"])).toBe("dev");
    expect(stageOf([])).toBeUndefined();
  });

  it("counts exactly: the last grantable execution passes, one more does not", () => {
    expect(reservedConcurrencyProblems({ concurrentExecutions: 1000, unreservedNow: 1000 }, { gateway: 900 })).toEqual([]);
    expect(reservedConcurrencyProblems({ concurrentExecutions: 1000, unreservedNow: 1000 }, { gateway: 901 })).toHaveLength(1);
  });
});
