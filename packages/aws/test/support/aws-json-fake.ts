import { AwsServiceError } from "../../src/aws-json-client";

/** One call a fake `AwsJsonClient` received, its input as it would go on the wire (JSON). */
export interface RecordedAwsCall {
  operation: string;
  input: Record<string, unknown>;
}

/**
 * A stand-in for `AwsJsonClient`'s `call`, for the faults moto cannot be made to produce (a partly
 * refused batch, throttling, a corrupted body): `answer` gives each call's result or throws, and
 * every call is recorded. Wire behaviour belongs to tests on moto server (or `loopback-aws.ts` for
 * the client itself).
 */
export function fakeAwsJson(
  answer: (operation: string, input: Record<string, unknown>, index: number) => unknown,
): { calls: RecordedAwsCall[]; call<Output = Record<string, unknown>>(operation: string, input: object): Promise<Output> } {
  const calls: RecordedAwsCall[] = [];
  return {
    calls,
    async call<Output>(operation: string, input: object): Promise<Output> {
      const wire = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
      calls.push({ operation, input: wire });
      return (await answer(operation, wire, calls.length - 1)) as Output;
    },
  };
}

/** An error as `AwsJsonClient` throws it once its retries are spent (e.g. `ThrottlingException`). */
export function awsError(name: string, message = name, status = 400): AwsServiceError {
  return new AwsServiceError(name, message, { status, attempts: 3, retryable: false });
}
