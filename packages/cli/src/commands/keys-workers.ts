import type { DataKey, Worker } from "@inferencekey/sdk";
import type { CommandContext } from "../client";
import { CliError, EXIT } from "../errors";
import { type Columns, render } from "../output";

const KEY_COLUMNS: Columns<DataKey> = [
  ["ID", (k) => k.id],
  ["NAME", (k) => k.name],
  ["KEY", (k) => `${k.prefix}...${k.last4}`],
  ["CREATED", (k) => k.createdAt],
  ["STATE", (k) => (k.revokedAt !== undefined ? `revoked ${k.revokedAt}` : k.expiresAt !== undefined ? `expires ${k.expiresAt}` : "active")],
  ["RATE/MIN", (k) => k.rateLimitPerMinute],
  ["CONCURRENT", (k) => k.maxConcurrentRequests],
];

export async function keysCreate(
  ctx: CommandContext,
  workload: string,
  options: { name: string; rateLimit?: string; maxConcurrent?: string },
): Promise<number> {
  const rate = options.rateLimit === undefined ? undefined : Number(options.rateLimit);
  if (rate !== undefined && !(Number.isInteger(rate) && rate >= 1)) {
    throw new CliError(`--rate-limit ${JSON.stringify(options.rateLimit)} is not a whole number of requests per minute (at least 1)`, EXIT.invalidInput);
  }
  const concurrent = options.maxConcurrent === undefined ? undefined : Number(options.maxConcurrent);
  if (concurrent !== undefined && !(Number.isInteger(concurrent) && concurrent >= 1 && concurrent <= 1000)) {
    throw new CliError(`--max-concurrent ${JSON.stringify(options.maxConcurrent)} is not a whole number of requests from 1 to 1000`, EXIT.invalidInput);
  }
  const created = await ctx.mgmt.keys.create(workload, {
    name: options.name,
    ...(rate === undefined ? {} : { rateLimitPerMinute: rate }),
    ...(concurrent === undefined ? {} : { maxConcurrentRequests: concurrent }),
  });
  if (ctx.output !== "table") ctx.out(render(ctx.output, created, []));
  else ctx.out(`${created.key}\n`);
  ctx.err(`key ${created.id} for ${ctx.mgmt.project}/${workload}: shown only this once, store it now (the platform keeps only a digest)\n`);
  return EXIT.ok;
}

export async function keysList(ctx: CommandContext, workload: string): Promise<number> {
  ctx.out(render(ctx.output, await ctx.mgmt.keys.list(workload), KEY_COLUMNS));
  return EXIT.ok;
}

export async function keysRotate(ctx: CommandContext, workload: string, keyId: string, options: { oldExpiresIn?: string }): Promise<number> {
  const seconds = options.oldExpiresIn === undefined ? undefined : Number(options.oldExpiresIn);
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 0)) {
    throw new CliError(`--old-expires-in ${JSON.stringify(options.oldExpiresIn)} is not a whole number of seconds`, EXIT.invalidInput);
  }
  const rotated = await ctx.mgmt.keys.rotate(workload, keyId, seconds === undefined ? {} : { oldKeyExpiresInSeconds: seconds });
  if (ctx.output !== "table") ctx.out(render(ctx.output, rotated, []));
  else ctx.out(`${rotated.key}\n`);
  const until = rotated.previous.revokedAt !== undefined ? "is revoked" : `works until ${rotated.previous.expiresAt}`;
  ctx.err(`new key ${rotated.id} (shown only this once); the old key ${keyId} ${until}\n`);
  return EXIT.ok;
}

export async function keysRevoke(ctx: CommandContext, workload: string, keyId: string): Promise<number> {
  const revoked = await ctx.mgmt.keys.revoke(workload, keyId);
  ctx.out(`revoked ${revoked.id} (${revoked.name}) of ${ctx.mgmt.project}/${workload}\n`);
  return EXIT.ok;
}

const WORKER_COLUMNS: Columns<Worker> = [
  ["ID", (w) => w.id],
  ["NAME", (w) => w.name],
  ["STATUS", (w) => w.status],
  ["GPUS", (w) => w.gpus.map((g) => g.name)],
  ["LAST HEARTBEAT", (w) => w.lastHeartbeatAt],
  ["REPLICAS", (w) => w.replicas.length],
];

export async function workersRegister(ctx: CommandContext, options: { name: string; address?: string[] }): Promise<number> {
  const worker = await ctx.mgmt.workers.register({ name: options.name, ...(options.address === undefined ? {} : { addresses: options.address }) });
  if (ctx.output !== "table") {
    ctx.out(render(ctx.output, worker, []));
    return EXIT.ok;
  }
  ctx.out(`registered worker ${worker.id} (${worker.name}) in ${ctx.mgmt.project}\n`);
  ctx.out("start the agent on the GPU box (Node 22, from a checkout of the repository); the token is shown only this once:\n");
  ctx.out(`  node packages/agent/bin/inferencekey-agent.mjs --base-url ${ctx.credentials.baseUrl} --token ${worker.token}\n`);
  return EXIT.ok;
}

export async function workersList(ctx: CommandContext): Promise<number> {
  ctx.out(render(ctx.output, await ctx.mgmt.workers.list(), WORKER_COLUMNS));
  return EXIT.ok;
}

export async function workersDeregister(ctx: CommandContext, workerId: string): Promise<number> {
  const worker = await ctx.mgmt.workers.deregister(workerId);
  ctx.out(`deregistered ${worker.id} (${worker.name}): its token stops working; its replicas are placed elsewhere\n`);
  return EXIT.ok;
}

export async function catalogGpus(ctx: CommandContext): Promise<number> {
  ctx.out(
    render(ctx.output, await ctx.mgmt.gpuCatalog(), [
      ["GPU (gpu_pool name)", (g) => g.displayName],
      ["VRAM GB", (g) => g.vramGb],
      ["$/GPU-HOUR (share)", (g) => g.hourlyPriceUsd],
      ["CUDA", (g) => g.cudaVersions],
    ]),
  );
  return EXIT.ok;
}
