import {
  AWS_LIMITS,
  awsGatewayLimits,
  FUNCTION_ENV,
  JOBS_ENV,
  JOBS_QUEUE_SETTINGS,
  ORIGIN_HEADER,
  originHeaderValue,
  ROUTER_ROUTES,
  worstCaseFirstByteSeconds,
} from "@inferencekey/aws";
import { GATEWAY_ROUTES, REPLICA_PORT_RANGE } from "@inferencekey/core";
import { afterEach, describe, expect, it, vi } from "vitest";

// infra/compute.ts packs the node agent at deploy (a child process); here it reads as packed.
vi.mock("node:child_process", async (original) => ({
  ...(await original<typeof import("node:child_process")>()),
  execFileSync: () => JSON.stringify({ file: ".sst/node-agent/agent.tgz", key: "agent/sha-0123.tgz", sha256: "0123" }),
}));
import { controllerComputeStatements, type PolicyStatement } from "../../infra/compute-policy";
import { allowed } from "../support/iam-policy";
import { runViewerRequest } from "../support/local-router";
import { LAMBDA_FUNCTION_ENV } from "../support/lambda-function-env";
import { installSstStandIn, plain, type RecordedResource, type Recording, removeSstStandIn } from "../support/sst-stand-in";

/**
 * sst.config.ts and infra/* evaluated with a recording stand-in for SST's globals (no AWS account
 * is reachable here): what each function may do, the schedule, the streaming URL, the Router's
 * routes and edge code, the network, the alarms. tsconfig.infra.json type-checks the same files
 * against the pinned SST's platform types.
 */

const SECRET_V1 = "s".repeat(32);
const SECRET_V2 = "t".repeat(32);
const CONFIG = new URL("../../sst.config.ts", import.meta.url).href;

interface SstConfig {
  app(input: { stage: string }): Promise<Record<string, unknown> & { providers: { aws: { region: string; version: string } } }>;
  run(): Promise<Record<string, unknown>>;
}

interface FunctionArgs {
  handler: string;
  runtime: string;
  streaming?: boolean;
  url?: { authorization: string };
  link?: unknown;
  vpc?: unknown;
  retries?: number;
  timeout?: string;
  concurrency?: { reserved: number };
  environment: Record<string, unknown>;
  permissions: { actions: string[]; resources: unknown[]; effect?: string }[];
  transform?: { function?: { tracingConfig?: { mode: string } } };
}

async function deployStage(stage: string, env: Record<string, string> = {}): Promise<{ recording: Recording; config: SstConfig; outputs: Record<string, unknown> }> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const recording = installSstStandIn({
    stage,
    values: {
      "ServerSecret.value": `2:${SECRET_V2},1:${SECRET_V1}`,
      "aws.getAvailabilityZonesOutput().names": ["us-east-1a", "us-east-1b", "us-east-1c"],
      "NodeNetwork.publicSubnets": ["subnet-a", "subnet-b", "subnet-c"],
      "aws.getCallerIdentityOutput().accountId": "123456789012",
      "aws.getRegionOutput().name": "us-east-1",
    },
  });
  const config = ((await import(/* @vite-ignore */ CONFIG)) as { default: SstConfig }).default;
  const outputs = plain(await config.run()) as Record<string, unknown>;
  return { recording, config, outputs };
}

/** Every platform function, wherever infra/ declares it: a Function, a CronV2's `function`, a queue's subscriber. */
function functionsOf(recording: Recording): Map<string, FunctionArgs> {
  const functions = new Map<string, FunctionArgs>();
  for (const fn of recording.ofType("sst.aws.Function")) functions.set(fn.name, plain(fn.args) as FunctionArgs);
  for (const cron of recording.ofType("sst.aws.CronV2")) functions.set(cron.name, plain((cron.args as { function: unknown }).function) as FunctionArgs);
  for (const queue of recording.ofType("sst.aws.Queue")) {
    for (const call of queue.calls.filter((c) => c.method === "subscribe")) functions.set(`${queue.name}Subscriber`, plain(call.args[0]) as FunctionArgs);
  }
  return functions;
}

function argsOf<T>(resource: RecordedResource): T {
  return plain(resource.args) as T;
}

afterEach(() => {
  vi.unstubAllEnvs();
  removeSstStandIn();
});

describe("infra wiring (production stage)", () => {
  it("pins the region and the AWS provider, retains and protects production, keeps other stages removable", async () => {
    vi.stubEnv("AWS_REGION", "eu-west-3");
    const { config } = await deployStage("production");

    const production = await config.app({ stage: "production" });
    const dev = await config.app({ stage: "dev" });

    expect(production.providers.aws).toEqual({ region: "us-east-1", version: "7.20.0" });
    expect(production).toMatchObject({ removal: "retain", protect: true, home: "aws" });
    expect(dev).toMatchObject({ removal: "remove", protect: false });
  });

  it("gives every function explicit table actions, the one secret parameter, no link, no VPC, no secret in its environment", async () => {
    const { recording } = await deployStage("production");
    const functions = functionsOf(recording);

    expect([...functions.keys()].sort()).toEqual(["AdminToken", "AgentApi", "ControlApi", "ControllerProjectsSubscriber", "ControllerTick", "Gateway", "JobsSubscriber"]);
    for (const [name, fn] of functions) {
      const actions = fn.permissions.flatMap((permission) => permission.actions);
      expect(fn.runtime, name).toBe("nodejs22.x");
      expect(fn.link, name).toBeUndefined();
      expect(fn.vpc, name).toBeUndefined();
      expect(actions.filter((action) => action.includes("*")), name).toEqual([]);
      expect(fn.permissions, name).toContainEqual({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"],
        resources: ["{{Store.arn}}"],
      });
      expect(fn.permissions, name).toContainEqual({ actions: ["dynamodb:Query"], resources: ["{{Store.arn}}", "{{Store.arn}}/index/*"] });
      expect(fn.permissions, name).toContainEqual({ actions: ["ssm:GetParameter"], resources: ["{{ServerSecretParameter.arn}}"] });
      // Only X-Ray (which has no resource-level permissions) gets "*".
      for (const permission of fn.permissions.filter((p) => p.resources.includes("*"))) {
        expect(permission.actions.every((action) => action.startsWith("xray:")), name).toBe(true);
      }
      expect(fn.environment[FUNCTION_ENV.table], name).toBe("{{Store.name}}");
      expect(fn.environment[FUNCTION_ENV.serverSecretParameter], name).toBe("{{ServerSecretParameter.name}}");
      expect(fn.environment[FUNCTION_ENV.publicUrl], name).toBe("{{Router.url}}");
      expect(JSON.stringify(fn.environment), name).not.toMatch(/sss|ttt|ServerSecret\.value/);
    }
  });

  it("gives no function a variable that the bundle load test does not set, so loads are measured fully configured", async () => {
    const functions = functionsOf((await deployStage("production", { INFERENCEKEY_TRACING: "active" })).recording);

    for (const [name, fn] of functions) {
      const missing = Object.keys(fn.environment).filter((variable) => LAMBDA_FUNCTION_ENV[variable] === undefined);
      expect(missing, `${name}: add these to test/support/lambda-function-env.ts`).toEqual([]);
    }
  });

  it("keeps the server secret in an SSM SecureString parameter of the stage, and out of every output", async () => {
    const { recording, outputs } = await deployStage("production");

    const parameter = argsOf<{ name: string; type: string; value: string }>(recording.get("aws.ssm.Parameter", "ServerSecretParameter"));

    expect(parameter).toMatchObject({ name: "/inferencekey/production/server-secret", type: "SecureString", value: "{{ServerSecret.value}}" });
    expect(JSON.stringify(outputs)).not.toMatch(/sss|ttt|ServerSecret/);
  });

  it("runs the controller every minute without retries (schedule and invocation), sending project passes to its queue only", async () => {
    const { recording } = await deployStage("production");

    const cron = argsOf<{ schedule: string; retries: number; function: FunctionArgs }>(recording.get("sst.aws.CronV2", "ControllerTick"));

    expect(cron.schedule).toBe("rate(1 minute)");
    expect(cron.retries).toBe(0);
    expect(cron.function.retries).toBe(0);
    expect(cron.function.handler).toBe("functions/controller-tick.handler");
    expect(cron.function.environment.INFERENCEKEY_CONTROLLER_QUEUE_URL).toBe("{{ControllerProjects.url}}");
    expect(cron.function.permissions).toContainEqual({ actions: ["sqs:SendMessage"], resources: ["{{ControllerProjects.arn}}"] });
  });

  it("gives the project passes a dead-letter queue, a visibility timeout above the consumer's, and partial batch failures", async () => {
    const { recording } = await deployStage("production");
    const queue = recording.get("sst.aws.Queue", "ControllerProjects");

    const args = argsOf<{ dlq: { queue: string; retry: number }; visibilityTimeout: string }>(queue);
    const [consumer, subscription] = plain(queue.calls.find((call) => call.method === "subscribe")?.args) as [FunctionArgs & { timeout: string }, unknown];

    expect(args.dlq).toEqual({ queue: "{{ControllerProjectsDlq.arn}}", retry: 3 });
    expect(Number.parseInt(args.visibilityTimeout, 10)).toBeGreaterThan(Number.parseInt(consumer.timeout, 10));
    expect(consumer.handler).toBe("functions/controller-project.handler");
    expect(subscription).toEqual({ batch: { size: 10, partialResponses: true } });
  });

  it("lets the gateway write and read generated files under files/ only, in a bucket that deletes them after a day (job objects after 31)", async () => {
    const { recording } = await deployStage("production");
    const gateway = functionsOf(recording).get("Gateway");

    expect(gateway?.environment.INFERENCEKEY_BLOB_BUCKET).toBe("{{Files.name}}");
    expect(gateway?.permissions).toContainEqual({ actions: ["s3:PutObject", "s3:GetObject"], resources: ["{{Files.arn}}/files/*"] });
    expect(argsOf(recording.get("sst.aws.Bucket", "Files"))).toEqual({
      lifecycle: [
        { id: "generated-files", prefix: "files/", expiresIn: "1 day" },
        { id: "job-objects", prefix: "jobs/", expiresIn: "31 days" },
      ],
    });
  });

  it("feeds async jobs through a queue with a DLQ, visibility at least 6x the consumer's timeout and partial batch failures; senders may only send, put events and touch jobs/", async () => {
    const { recording } = await deployStage("production");
    const queue = recording.get("sst.aws.Queue", "Jobs");
    const functions = functionsOf(recording);

    const args = argsOf<{ dlq: { queue: string; retry: number }; visibilityTimeout: string }>(queue);
    const [consumer, subscription] = plain(queue.calls.find((call) => call.method === "subscribe")?.args) as [FunctionArgs & { timeout: string }, { batch: unknown }];
    const senders = ["Gateway", "ControllerTick", "ControllerProjectsSubscriber", "JobsSubscriber"].map((name) => [name, functions.get(name)] as const);

    expect(args.dlq).toEqual({ queue: "{{JobsDeadLetter.arn}}", retry: JOBS_QUEUE_SETTINGS.maxReceiveCount });
    expect(Number.parseInt(args.visibilityTimeout, 10)).toBeGreaterThanOrEqual(6 * Number.parseInt(consumer.timeout, 10));
    expect(consumer.handler).toBe("functions/jobs-consumer.handler");
    expect(subscription.batch).toEqual({ size: JOBS_QUEUE_SETTINGS.batchSize, partialResponses: true });
    recording.get("sst.aws.Bus", "Events");
    for (const [name, fn] of senders) {
      expect(fn?.environment[JOBS_ENV.queueUrl], name).toBe("{{Jobs.url}}");
      expect(fn?.environment[JOBS_ENV.eventBus], name).toBe("{{Events.name}}");
      expect(fn?.permissions, name).toContainEqual({ actions: ["sqs:SendMessage"], resources: ["{{Jobs.arn}}"] });
      expect(fn?.permissions, name).toContainEqual({ actions: ["events:PutEvents"], resources: ["{{Events.arn}}"] });
      expect(fn?.permissions, name).toContainEqual({ actions: ["s3:PutObject", "s3:GetObject"], resources: ["{{Files.arn}}/jobs/*"] });
    }
  });

  it("serves the gateway and the control API from streaming Function URLs with auth NONE; the agent API from a buffered one; the admin token from none", async () => {
    const functions = functionsOf((await deployStage("production")).recording);

    expect(functions.get("Gateway")).toMatchObject({ streaming: true, url: { authorization: "none" }, handler: "functions/gateway.handler" });
    // Readiness event streams reach the client live (a buffered URL would hold them to the end).
    expect(functions.get("ControlApi")).toMatchObject({ streaming: true, url: { authorization: "none" }, handler: "functions/control-api.handler" });
    expect(functions.get("ControlApi")?.timeout).toBe(`${AWS_LIMITS.controlApiTimeoutSeconds} seconds`);
    expect(functions.get("AgentApi")?.streaming).toBeUndefined();
    expect(functions.get("AgentApi")?.url).toMatchObject({ authorization: "none" });
    expect(functions.get("AdminToken")?.url).toBeUndefined();
    // The console's build travels with the control API, which serves /console.
    expect(functions.get("ControlApi")).toMatchObject({ copyFiles: [{ from: "packages/console/dist", to: "console" }] });
  });

  it("routes /v1, /api, /console, /endpoint and /agent of one Router to the Function URLs, with the origin read timeout", async () => {
    const { recording, outputs } = await deployStage("production");

    const routes = recording.get("sst.aws.Router", "Router").calls.filter((call) => call.method === "route").map((call) => plain(call.args));

    expect(routes).toEqual([
      ["/v1", "{{ControlApi.url}}", { readTimeout: "60 seconds" }],
      ["/api", "{{ControlApi.url}}", { readTimeout: "60 seconds" }],
      ["/console", "{{ControlApi.url}}", { readTimeout: "60 seconds" }],
      ["/endpoint", "{{Gateway.url}}", { readTimeout: "60 seconds" }],
      ["/agent", "{{AgentApi.url}}", { readTimeout: "60 seconds" }],
    ]);
    expect(ROUTER_ROUTES.map((route) => route.path)).toEqual(["/v1", "/api", "/console", "/endpoint", "/agent"]);
    expect(outputs.baseUrl).toBe("{{Router.url}}");
    expect(outputs.firstAdminToken).toMatch(/^aws lambda invoke --region \{\{aws\.getRegionOutput\(\)\.region\}\} --function-name \{\{AdminToken\.name\}\} /);
  });

  it("the Router's edge code marks requests with the current secret's origin header, keeps Authorization, and answers 413 above Lambda's limit", async () => {
    const { recording } = await deployStage("production");
    const injection = argsOf<{ edge: { viewerRequest: { injection: string } } }>(recording.get("sst.aws.Router", "Router")).edge.viewerRequest.injection;

    const forwarded = await runViewerRequest(injection, {
      method: "POST",
      uri: "/endpoint/acme/bot/v1/chat/completions",
      headers: { authorization: "Bearer ik_live_x", [ORIGIN_HEADER]: "forged", "content-length": String(AWS_LIMITS.maxRequestBodyBytes) },
    });
    const refused = await runViewerRequest(injection, {
      method: "POST",
      uri: "/endpoint/acme/bot/v1/audio/transcriptions",
      headers: { "content-length": String(AWS_LIMITS.maxRequestBodyBytes + 1) },
    });

    expect(forwarded.kind).toBe("request");
    expect(forwarded.kind === "request" && forwarded.headers[ORIGIN_HEADER]).toBe(originHeaderValue(SECRET_V2));
    expect(forwarded.kind === "request" && forwarded.headers.authorization).toBe("Bearer ik_live_x");
    expect(refused.kind).toBe("response");
    expect(refused.kind === "response" && refused.status).toBe(413);
    expect(refused.kind === "response" && JSON.parse(refused.body).error.code).toBe("payload_too_large");
  });

  it("orders the timeouts: every gateway wait ends before CloudFront's origin timeout; SSE keep-alives come sooner", () => {
    const limits = awsGatewayLimits();
    const readTimeoutMs = AWS_LIMITS.originReadTimeoutSeconds * 1000;

    expect(worstCaseFirstByteSeconds()).toBeLessThan(AWS_LIMITS.originReadTimeoutSeconds);
    expect(AWS_LIMITS.sseKeepAliveMs).toBeLessThan(readTimeoutMs);
    // A readiness stream ends (cleanly, with its "reconnect" comment) before the control API's timeout.
    expect(AWS_LIMITS.readinessStreamMaxMs + AWS_LIMITS.controlApiCloseReserveMs).toBeLessThan(AWS_LIMITS.controlApiTimeoutSeconds * 1000);
    for (const route of GATEWAY_ROUTES) {
      const overrides = limits.routes[route];
      expect((overrides?.firstByteTimeoutMs ?? Infinity) + limits.connectTimeoutMs + limits.maxScaleUpWaitSeconds * 1000, route).toBeLessThan(readTimeoutMs);
      expect(overrides?.idleTimeoutMs ?? Infinity, route).toBeLessThan(readTimeoutMs);
      expect(overrides?.maxBodyBytes ?? Infinity, route).toBeLessThanOrEqual(AWS_LIMITS.maxRequestBodyBytes);
    }
  });

  it("protects the production table from deletion", async () => {
    const { recording } = await deployStage("production");

    expect(argsOf<{ deletionProtection: boolean }>(recording.get("sst.aws.Dynamo", "Store")).deletionProtection).toBe(true);
  });

  it("creates the node network: public subnets in three zones, no NAT, a security group opening only the replica fronts' ports", async () => {
    const { recording } = await deployStage("production");

    const vpc = argsOf<{ az: number; nat?: unknown }>(recording.get("sst.aws.Vpc", "NodeNetwork"));
    const group = argsOf<{ ingress: { protocol: string; fromPort: number; toPort: number }[] }>(recording.get("aws.ec2.SecurityGroup", "NodeFronts"));

    expect(vpc.az).toBe(3);
    expect(vpc.nat).toBeUndefined();
    expect(recording.ofType("aws.ec2.NatGateway")).toEqual([]);
    expect(group.ingress).toHaveLength(1);
    expect(group.ingress[0]).toMatchObject({ protocol: "tcp", fromPort: REPLICA_PORT_RANGE.first, toPort: REPLICA_PORT_RANGE.last });
  });

  it("gives both controller functions the node pool and the base URL for nodes' agents, and the node pool grants on their roles", async () => {
    const { recording } = await deployStage("production");
    const functions = functionsOf(recording);

    for (const name of ["ControllerTick", "ControllerProjectsSubscriber"]) {
      expect(functions.get(name)?.environment, name).toMatchObject({
        INFERENCEKEY_AGENT_API_URL: "{{Router.url}}",
        INFERENCEKEY_NODE_SECURITY_GROUP: "{{NodeFronts.id}}",
        INFERENCEKEY_NODE_INSTANCE_PROFILE_ARN: "{{NodeInstanceProfile.arn}}",
      });
    }
    const grants = recording.ofType("aws.iam.RolePolicy").map((policy) => ({ name: policy.name, ...argsOf<{ role: string; policy: string }>(policy) }));
    expect(grants.find((grant) => grant.name === "ControllerNodePool")?.role).toBe("{{ControllerTick.nodes.function.nodes.role.name}}");
    expect(grants.find((grant) => grant.name === "ControllerProjectNodePool")?.role).toBe("{{ControllerProjects.subscribe().nodes.function.nodes.role.name}}");
    // The statements are infra/compute-policy.ts's (test/infra/compute-policy.test.ts checks them), for this stage's subnets.
    expect(grants.find((grant) => grant.name === "ControllerNodePool")?.policy).toContain("subnet/subnet-a");
  });

  it("gives the tick's and the project consumer's roles exactly the node pool's least-privilege EC2 and IAM statements, nothing broader", async () => {
    const { recording } = await deployStage("production");
    const functions = functionsOf(recording);
    const grants = recording.ofType("aws.iam.RolePolicy").map((policy) => ({ name: policy.name, ...argsOf<{ role: string; policy: string }>(policy) }));
    const roles = {
      ControllerTick: "{{ControllerTick.nodes.function.nodes.role.name}}",
      ControllerProjectsSubscriber: "{{ControllerProjects.subscribe().nodes.function.nodes.role.name}}",
    };
    const expected = controllerComputeStatements({
      app: "inferencekey",
      stage: "production",
      region: "us-east-1",
      accountId: "123456789012",
      nodeRoleArn: "{{NodeRole.arn}}",
      subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
      securityGroupIds: ["{{NodeFronts.id}}"],
    });
    const ec2 = (resource: string) => `arn:aws:ec2:us-east-1:123456789012:${resource}`;
    const ourRequestTags = { "aws:RequestTag/inferencekey:app": "inferencekey", "aws:RequestTag/inferencekey:stage": "production" };
    const ourResourceTags = { "aws:ResourceTag/inferencekey:app": "inferencekey", "aws:ResourceTag/inferencekey:stage": "production" };
    const toEc2 = { "iam:PassedToService": "ec2.amazonaws.com" };
    // Nothing else in the stack attaches policies to roles.
    expect(recording.ofType("aws.iam.RolePolicyAttachment")).toEqual([]);
    expect(recording.ofType("aws.iam.Policy")).toEqual([]);

    for (const [name, role] of Object.entries(roles)) {
      const onRole = grants.filter((grant) => grant.role === role);
      const fn = functions.get(name);
      expect(onRole, name).toHaveLength(1);
      const statements = (JSON.parse(onRole[0]?.policy ?? "{}") as { Statement: PolicyStatement[] }).Statement;
      const fromFunction = (fn?.permissions ?? []).map((permission) => ({
        Sid: "function",
        Effect: "Allow" as const,
        Action: permission.actions,
        Resource: permission.resources.map(String),
      }));
      const everything = [...statements, ...fromFunction];

      expect(statements, name).toEqual(expected);
      // The function's own permissions (table, queue, secret parameter, X-Ray) hold no EC2 or IAM action.
      expect(fromFunction.flatMap((statement) => statement.Action).filter((action) => /^(ec2|iam):/.test(action)), name).toEqual([]);
      // RunInstances only with our tags in the request, into our subnets and group.
      expect(allowed(everything, { action: "ec2:RunInstances", resource: ec2("instance/*"), context: ourRequestTags }), name).toBe(true);
      expect(allowed(everything, { action: "ec2:RunInstances", resource: ec2("instance/*") }), name).toBe(false);
      expect(allowed(everything, { action: "ec2:RunInstances", resource: ec2("instance/*"), context: { ...ourRequestTags, "aws:RequestTag/inferencekey:stage": "dev" } }), name).toBe(
        false,
      );
      expect(allowed(everything, { action: "ec2:RunInstances", resource: ec2("subnet/subnet-a") }), name).toBe(true);
      expect(allowed(everything, { action: "ec2:RunInstances", resource: ec2("subnet/subnet-other") }), name).toBe(false);
      // Terminate and Stop only instances carrying our tags.
      for (const action of ["ec2:TerminateInstances", "ec2:StopInstances"]) {
        expect(allowed(everything, { action, resource: ec2("instance/i-1"), context: ourResourceTags }), name).toBe(true);
        expect(allowed(everything, { action, resource: ec2("instance/i-1") }), name).toBe(false);
      }
      // PassRole for the node role, to EC2, only.
      expect(allowed(everything, { action: "iam:PassRole", resource: "{{NodeRole.arn}}", context: toEc2 }), name).toBe(true);
      expect(allowed(everything, { action: "iam:PassRole", resource: "arn:aws:iam::123456789012:role/Admin", context: toEc2 }), name).toBe(false);
      // Nothing broader on ec2 or iam: no other action, no wildcard action, no other EC2 call on everything.
      const ec2OrIam = everything.flatMap((statement) => statement.Action).filter((action) => /^(ec2|iam):/.test(action));
      expect(ec2OrIam.every((action) => !action.includes("*")), name).toBe(true);
      expect(new Set(ec2OrIam), name).toEqual(
        new Set([
          "ec2:RunInstances",
          "ec2:CreateTags",
          "ec2:TerminateInstances",
          "ec2:StopInstances",
          "iam:PassRole",
          "ec2:DescribeInstances",
          "ec2:DescribeInstanceTypeOfferings",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeSubnets",
        ]),
      );
      for (const action of ["ec2:DeleteVolume", "ec2:ModifyInstanceAttribute", "iam:CreateRole", "iam:AttachRolePolicy"]) {
        expect(allowed(everything, { action, resource: "*" }), `${name} ${action}`).toBe(false);
      }
    }
  });

  it("alarms on function errors, throttles, URL 5xx, table throttles, dropped ticks and dead-lettered passes, all to one SNS topic", async () => {
    const { recording } = await deployStage("production", { INFERENCEKEY_ALARM_EMAIL: "ops@example.com" });

    const alarms = recording.ofType("aws.cloudwatch.MetricAlarm").map((alarm) => ({ name: alarm.name, ...argsOf<{ alarmActions: string[]; metricName: string }>(alarm) }));
    const names = alarms.map((alarm) => alarm.name);

    for (const fn of ["ControlApi", "AgentApi", "Gateway", "ControllerTick", "ControllerProject", "AdminToken", "JobsConsumer"]) {
      expect(names).toContain(`${fn}Errors`);
      expect(names).toContain(`${fn}Throttles`);
    }
    expect(names).toEqual(expect.arrayContaining(["ControlApiUrl5xx", "AgentApiUrl5xx", "GatewayUrl5xx", "StoreReadThrottleEvents", "StoreWriteThrottleEvents"]));
    expect(names).toEqual(expect.arrayContaining(["ControllerScheduleInvocationDroppedCount", "ControllerScheduleTargetErrorCount", "ControllerProjectsDlqDepth", "JobsDeadLetterMessages"]));
    expect(alarms.every((alarm) => JSON.stringify(alarm.alarmActions) === JSON.stringify(["{{Alarms.arn}}"]))).toBe(true);
    expect(argsOf(recording.get("aws.sns.TopicSubscription", "AlarmEmail"))).toMatchObject({ protocol: "email", endpoint: "ops@example.com" });
  });
});

describe("infra wiring (options and other stages)", () => {
  it("leaves a non-production table deletable and reserves no concurrency unless asked", async () => {
    const { recording } = await deployStage("dev");

    expect(argsOf<{ deletionProtection: boolean }>(recording.get("sst.aws.Dynamo", "Store")).deletionProtection).toBe(false);
    expect([...functionsOf(recording).values()].every((fn) => fn.concurrency === undefined)).toBe(true);
  });

  it("reserves concurrency per function from INFERENCEKEY_RESERVED_CONCURRENCY", async () => {
    const { recording } = await deployStage("dev", { INFERENCEKEY_RESERVED_CONCURRENCY: "gateway=50,control-api=5" });
    const functions = functionsOf(recording);

    expect(functions.get("Gateway")?.concurrency).toEqual({ reserved: 50 });
    expect(functions.get("ControlApi")?.concurrency).toEqual({ reserved: 5 });
    expect(functions.get("AgentApi")?.concurrency).toBeUndefined();
  });

  it("samples no X-Ray traces and grants no X-Ray action by default, so no entry loads the tracer", async () => {
    const functions = functionsOf((await deployStage("dev")).recording);

    for (const [name, fn] of functions) {
      expect(fn.transform?.function?.tracingConfig, name).toEqual({ mode: "PassThrough" });
      expect(fn.environment[FUNCTION_ENV.tracing], name).toBeUndefined();
      expect(fn.permissions.flatMap((permission) => permission.actions).filter((action) => action.startsWith("xray:")), name).toEqual([]);
    }
  });

  it("turns X-Ray tracing on for every function with INFERENCEKEY_TRACING=active, and refuses another value", async () => {
    const functions = functionsOf((await deployStage("dev", { INFERENCEKEY_TRACING: "active" })).recording);

    for (const [name, fn] of functions) {
      expect(fn.transform?.function?.tracingConfig, name).toEqual({ mode: "Active" });
      expect(fn.environment[FUNCTION_ENV.tracing], name).toBe("active");
      expect(fn.permissions, name).toContainEqual({ actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] });
    }
    await expect(deployStage("dev", { INFERENCEKEY_TRACING: "on" })).rejects.toThrow(/"on" is not a tracing mode; use off \(the default\) or active/);
  });

  it("refuses a reservation for a function that does not exist, naming it", async () => {
    await expect(deployStage("dev", { INFERENCEKEY_RESERVED_CONCURRENCY: "gatway=50" })).rejects.toThrow(/"gatway" is not a function/);
  });
});
