import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { processJobMessage } from "../../src/jobs/consumer";
import { getJob, submitJob } from "../../src/jobs/service";
import { rotateSigningSecret, validSigningSecrets } from "../../src/jobs/signing-secrets";
import { checkWebhookUrl, deliverDueWebhooks, isPrivateAddress, postPinned, verifyWebhook } from "../../src/jobs/webhooks";
import { jobsHarness } from "./support";

const BODY = { query: "capital of france", documents: ["paris", "bananas"] };

/** Standard Webhooks verification written from the spec (standardwebhooks.com), independent of the platform's code. */
function standardWebhooksVerify(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signed = `${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`;
  const expected = createHmac("sha256", key).update(signed).digest();
  return String(headers["webhook-signature"])
    .split(" ")
    .some((part) => {
      const [version, signature] = part.split(",");
      const given = Buffer.from(signature ?? "", "base64");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

/** A webhook receiver on 127.0.0.1 answering the scripted statuses in turn (then 204). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const listening = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 204);
      res.end();
    });
  });
  server = listening;
  await new Promise<void>((done) => listening.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}/hooks/jobs`, received };
}

describe("job webhooks", () => {
  it("a finished job's webhook is signed like Standard Webhooks; a receiver verifies it with the whsec_ secret", async () => {
    // Prepare
    const h = await jobsHarness();
    const hook = await receiver([]);
    const { secret } = await rotateSigningSecret(h.platform.ctx, "webhook", await h.record());
    const service = { ...h.service, allowPrivateWebhooks: true };
    const { job } = await submitJob(service, { workload: await h.record(), body: { ...BODY, webhook: { url: hook.url } } });
    await processJobMessage(h.consumer, JSON.stringify({ version: 1, type: "job", job_id: job.id, project: "acme", workload: "ranker" }), 1);

    // Act
    const attempted = await deliverDueWebhooks({ ctx: h.platform.ctx, blobs: h.blobs, allowPrivateWebhooks: true });
    const again = await deliverDueWebhooks({ ctx: h.platform.ctx, blobs: h.blobs, allowPrivateWebhooks: true });

    // Assess
    const [delivery] = hook.received;
    const payload = JSON.parse(delivery?.body ?? "{}");
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(attempted).toBe(1);
    expect(again).toBe(0);
    expect(hook.received).toHaveLength(1);
    expect(standardWebhooksVerify(secret, delivery?.headers ?? {}, delivery?.body ?? "")).toBe(true);
    expect(standardWebhooksVerify(`whsec_${Buffer.alloc(32).toString("base64")}`, delivery?.headers ?? {}, delivery?.body ?? "")).toBe(false);
    expect(
      verifyWebhook(secret, { id: String(delivery?.headers["webhook-id"]), timestamp: String(delivery?.headers["webhook-timestamp"]), signature: String(delivery?.headers["webhook-signature"]) }, delivery?.body ?? "", Math.floor(h.clock.now().getTime() / 1000)),
    ).toBe(true);
    expect(payload).toMatchObject({ type: "job.succeeded", data: { id: job.id, status: "succeeded", result: { results: expect.any(Array) } } });
    const read = (await getJob(h.service, "acme", "ranker", job.id)).job;
    expect(read.webhook?.delivery).toEqual({ status: "delivered", attempts: 1, last_status: 204, last_error: null, delivered_at: expect.any(String) });
  });

  it("a failing receiver is retried with backoff and the delivery state is on the job", async () => {
    // Prepare
    const h = await jobsHarness();
    const hook = await receiver([500, 503]);
    await rotateSigningSecret(h.platform.ctx, "webhook", await h.record());
    const service = { ...h.service, allowPrivateWebhooks: true };
    const { job } = await submitJob(service, { workload: await h.record(), body: { ...BODY, webhook: { url: hook.url } } });
    await processJobMessage(h.consumer, JSON.stringify({ version: 1, type: "job", job_id: job.id, project: "acme", workload: "ranker" }), 1);
    const deliver = () => deliverDueWebhooks({ ctx: h.platform.ctx, allowPrivateWebhooks: true, log: () => undefined });

    // Act
    await deliver();
    const afterFirst = (await getJob(h.service, "acme", "ranker", job.id)).job.webhook?.delivery;
    const early = await deliver();
    h.clock.advance(5_000);
    await deliver();
    h.clock.advance(30_000);
    await deliver();

    // Assess
    expect(afterFirst).toMatchObject({ status: "pending", attempts: 1, last_status: 500, last_error: "the receiver answered 500" });
    expect(early).toBe(0);
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect((await getJob(h.service, "acme", "ranker", job.id)).job.webhook?.delivery).toMatchObject({ status: "delivered", attempts: 3, last_status: 204 });
  });

  it("a receiver that never answers costs one attempt of at most the deadline, recorded on the job", async () => {
    // Prepare: a receiver that accepts the connection and stays silent.
    const h = await jobsHarness();
    const silent = createServer(() => undefined);
    server = silent;
    await new Promise<void>((done) => silent.listen(0, "127.0.0.1", done));
    await rotateSigningSecret(h.platform.ctx, "webhook", await h.record());
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
    const { job } = await submitJob({ ...h.service, allowPrivateWebhooks: true }, { workload: await h.record(), body: { ...BODY, webhook: { url } } });
    await processJobMessage(h.consumer, JSON.stringify({ version: 1, type: "job", job_id: job.id, project: "acme", workload: "ranker" }), 1);

    // Act
    const started = performance.now();
    await deliverDueWebhooks({ ctx: h.platform.ctx, allowPrivateWebhooks: true, timeoutMs: 300, log: () => undefined });
    const tookMs = performance.now() - started;

    // Assess
    expect(tookMs).toBeLessThan(3000);
    expect((await getJob(h.service, "acme", "ranker", job.id)).job.webhook?.delivery).toMatchObject({
      status: "pending",
      attempts: 1,
      last_status: null,
      last_error: "no answer within 0.3 s",
    });
    silent.closeAllConnections();
  });

  it("after a rotation both secrets sign for 24 h, then only the new one", async () => {
    // Prepare
    const h = await jobsHarness();
    const record = await h.record();
    const old = (await rotateSigningSecret(h.platform.ctx, "webhook", record)).secret;

    // Act
    const rotated = await rotateSigningSecret(h.platform.ctx, "webhook", record);
    const during = await validSigningSecrets(h.platform.ctx, "webhook", "acme", "ranker", record.incarnation as string);
    h.clock.advance(24 * 3600 * 1000 + 1);
    const after = await validSigningSecrets(h.platform.ctx, "webhook", "acme", "ranker", record.incarnation as string);

    // Assess
    expect(rotated.secret).not.toBe(old);
    expect(during).toEqual([rotated.secret, old]);
    expect(after).toEqual([rotated.secret]);
  });

  it("only https URLs on public addresses, unless private webhooks are allowed; the address is checked at delivery", async () => {
    // Assess: at submit.
    expect(checkWebhookUrl("https://hooks.example.com/x", false)).toBeUndefined();
    expect(checkWebhookUrl("http://hooks.example.com/x", false)).toContain("https");
    expect(checkWebhookUrl("https://10.1.2.3/x", false)).toContain("private address");
    expect(checkWebhookUrl("https://[::1]/x", false)).toContain("private address");
    expect(checkWebhookUrl("https://user:pw@hooks.example.com/x", false)).toContain("credentials");
    expect(checkWebhookUrl("http://127.0.0.1:9/x", true)).toBeUndefined();
    for (const address of ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]) expect(isPrivateAddress(address), address).toBe(false);
    // At delivery: an address that is (or resolves to) a private one is refused before connecting.
    await expect(postPinned("https://169.254.169.254/latest", {}, "{}", false)).rejects.toThrow(/private address/);
  });
});
