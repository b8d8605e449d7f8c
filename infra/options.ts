import { parseReservedConcurrency, parseTracingMode } from "../packages/aws/src/deployment";

/**
 * Deployment options, read once from the deploying shell's environment (docs/deploy.md lists
 * them). `npm run deploy` checks the account can grant the reservations before SST runs.
 */
export const isProduction = $app.stage === "production";

/** `INFERENCEKEY_RESERVED_CONCURRENCY=gateway=50,control-api=5`: reserved executions per function; none by default. */
export const reservedConcurrency = parseReservedConcurrency(process.env.INFERENCEKEY_RESERVED_CONCURRENCY);

/** Where alarm notifications go besides the SNS topic (an email subscription to confirm once). */
export const alarmEmail = process.env.INFERENCEKEY_ALARM_EMAIL?.trim() || undefined;

/** `INFERENCEKEY_TRACING=active`: X-Ray traces of every function, at about 90 ms more per cold start; off by default. */
export const tracing = parseTracingMode(process.env.INFERENCEKEY_TRACING);
