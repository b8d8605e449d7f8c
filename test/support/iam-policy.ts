import type { PolicyStatement } from "../../infra/compute-policy";

/**
 * A small IAM evaluator for the statements infra/ writes: Allow only, Action and Resource
 * wildcards, StringEquals conditions; anything else throws, so a statement it cannot judge fails
 * the test instead of passing it. Used by test/infra/compute-policy.test.ts (the statements) and
 * test/infra/wiring.test.ts (the same statements as recorded on the controllers' roles).
 */
export interface IamCall {
  action: string;
  resource: string;
  /** aws:RequestTag/..., aws:ResourceTag/..., ec2:CreateAction, iam:PassedToService. */
  context?: Record<string, string>;
}

function wildcard(pattern: string, value: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*");
  return new RegExp(`^${escaped}$`).test(value);
}

/** Whether any statement allows the call. */
export function allowed(statements: readonly PolicyStatement[], call: IamCall): boolean {
  return statements.some((statement) => {
    if (statement.Effect !== "Allow") throw new Error(`the evaluator knows Allow only, not ${String(statement.Effect)}`);
    if (!statement.Action.some((action) => wildcard(action, call.action))) return false;
    if (!statement.Resource.some((resource) => wildcard(resource, call.resource))) return false;
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      if (operator !== "StringEquals") throw new Error(`the evaluator does not know ${operator}`);
      for (const [key, expected] of Object.entries(entries)) {
        const given = call.context?.[key];
        if (given === undefined || !(Array.isArray(expected) ? expected : [expected]).includes(given)) return false;
      }
    }
    return true;
  });
}
