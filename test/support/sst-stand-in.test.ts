import { afterEach, describe, expect, it } from "vitest";
import { installSstStandIn, plain, removeSstStandIn } from "./sst-stand-in";

/** The stand-in records any component or provider resource the infra files of later issues add. */
describe("SST stand-in", () => {
  afterEach(() => removeSstStandIn());

  it("records queues, buses, IAM and EC2 resources, their arguments, method calls and outputs", () => {
    const recording = installSstStandIn({ stage: "dev", values: { "aws.getCallerIdentityOutput().accountId": "123456789012" } });
    type Component = new (name: string, args?: unknown) => Record<string, unknown>;
    const g = globalThis as unknown as {
      sst: { aws: { Queue: Component; Bus: Component } };
      aws: { iam: { Role: Component }; getCallerIdentityOutput: () => { accountId: { apply: (fn: (v: string) => string) => unknown } } };
      $interpolate: (strings: TemplateStringsArray, ...values: unknown[]) => unknown;
    };

    const dlq = new g.sst.aws.Queue("JobsDlq");
    const queue = new g.sst.aws.Queue("Jobs", { dlq: dlq.arn, visibilityTimeout: "5 minutes" });
    (queue.subscribe as (handler: string) => unknown)("functions/jobs.handler");
    new g.sst.aws.Bus("Events");
    const role = new g.aws.iam.Role("NodeRole", { assumeRolePolicy: g.$interpolate`{"account":"${g.aws.getCallerIdentityOutput().accountId}"}` });
    const arn = g.aws.getCallerIdentityOutput().accountId.apply((account) => `arn:aws:iam::${account}:role/x`);

    expect(plain(recording.get("sst.aws.Queue", "Jobs").args)).toEqual({ dlq: "{{JobsDlq.arn}}", visibilityTimeout: "5 minutes" });
    expect(recording.get("sst.aws.Queue", "Jobs").calls).toEqual([{ method: "subscribe", args: ["functions/jobs.handler"] }]);
    expect(recording.ofType("sst.aws.Bus").map((bus) => bus.name)).toEqual(["Events"]);
    expect(plain(recording.get("aws.iam.Role", "NodeRole").args)).toEqual({ assumeRolePolicy: '{"account":"{{aws.getCallerIdentityOutput().accountId}}"}' });
    expect(plain(role.arn)).toBe("{{NodeRole.arn}}");
    expect(plain(arn)).toBe("arn:aws:iam::123456789012:role/x");
    expect(() => recording.get("aws.ec2.Instance", "Missing")).toThrow(/no aws.ec2.Instance named Missing; recorded: sst.aws.Queue JobsDlq/);
  });
});
