import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient, paginateListFunctions } from "@aws-sdk/client-lambda";
import { DEPLOY_REGION, parseReservedConcurrency, reservedConcurrencyProblems } from "../packages/aws/src/deployment";

/**
 * Before `sst deploy`: can the account grant the reserved concurrency INFERENCEKEY_RESERVED_CONCURRENCY
 * asks for? Lambda keeps 100 executions unreserved, and new accounts often have a quota of 10,
 * which a deploy would otherwise find out halfway. What this stage's functions already reserve is
 * given back first (a redeploy moves reservations, it does not add them). Exits 1 naming the problem.
 */
export async function preflight(stage: string, env: NodeJS.ProcessEnv, client: LambdaClient): Promise<string[]> {
  const requested = parseReservedConcurrency(env.INFERENCEKEY_RESERVED_CONCURRENCY);
  if (Object.keys(requested).length === 0) return [];
  const settings = await client.send(new GetAccountSettingsCommand({}));
  let reservedNowByUs = 0;
  // SST names functions `<app>-<stage>-<Name>Function-<suffix>`.
  const prefix = `inferencekey-${stage}-`;
  for await (const page of paginateListFunctions({ client }, {})) {
    for (const fn of page.Functions ?? []) {
      if (!fn.FunctionName?.startsWith(prefix)) continue;
      const concurrency = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: fn.FunctionName }));
      reservedNowByUs += concurrency.ReservedConcurrentExecutions ?? 0;
    }
  }
  return reservedConcurrencyProblems(
    {
      concurrentExecutions: settings.AccountLimit?.ConcurrentExecutions ?? 0,
      unreservedNow: settings.AccountLimit?.UnreservedConcurrentExecutions ?? 0,
    },
    requested,
    reservedNowByUs,
  );
}

/** The `--stage` of the deploy's arguments (SST's own default is the personal stage; we require it). */
export function stageOf(args: readonly string[]): string | undefined {
  const index = args.indexOf("--stage");
  if (index >= 0) return args[index + 1];
  return args.find((arg) => arg.startsWith("--stage="))?.slice("--stage=".length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stage = stageOf(process.argv.slice(2)) ?? process.env.SST_STAGE;
  if (stage === undefined) {
    console.error("inferencekey: name the stage: npm run deploy -- --stage <stage> (production is protected and retained)");
    process.exit(2);
  }
  try {
    const problems = await preflight(stage, process.env, new LambdaClient({ region: DEPLOY_REGION }));
    for (const problem of problems) console.error(`inferencekey preflight: ${problem}`);
    process.exit(problems.length > 0 ? 1 : 0);
  } catch (error) {
    console.error(`inferencekey preflight: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
