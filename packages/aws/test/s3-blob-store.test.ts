import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PNG_1X1, type ReplicaProcess, type ServedGateway, serveGateway, startReplica, stopAllReplicas, TestPlatform } from "../../core/test/gateway/support";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { createS3Client, S3BlobStore } from "../src/s3-blob-store";

/** The S3 blob store on moto server (S3 API on loopback), alone and behind the gateway. */
describe("S3BlobStore on moto server", () => {
  let moto: RunningMoto;
  let client: ReturnType<typeof createS3Client>;
  const bucket = "ik-blobs";
  const key = "acme/img/file_0123456789abcdefABCDEF01";

  beforeAll(async () => {
    moto = await startMoto();
    client = createS3Client({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }, 60_000);

  afterAll(async () => {
    client?.destroy();
    await stopAllReplicas();
    await moto?.stop();
  });

  it("stores a blob under the prefix and gives it back, bytes and type, until its expiry", async () => {
    // Prepare
    const store = new S3BlobStore({ bucket, client });
    const expiresAt = new Date("2030-01-01T01:00:00Z");

    // Act
    await store.put(key, { data: PNG_1X1, contentType: "image/png", expiresAt });
    const before = await store.get(key, new Date("2030-01-01T00:59:59Z"));
    const after = await store.get(key, new Date("2030-01-01T01:00:00Z"));

    // Assess
    expect(Buffer.from(before?.data ?? []).equals(PNG_1X1)).toBe(true);
    expect(before?.contentType).toBe("image/png");
    expect(before?.expiresAt.toISOString()).toBe(expiresAt.toISOString());
    expect(after).toBeUndefined();
  });

  it("a missing object, or one without a readable expiry, is not served", async () => {
    // Prepare
    const store = new S3BlobStore({ bucket, client });
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "files/acme/img/file_zzzzzzzzzzzzzzzzzzzzzzzz", Body: "x" }));

    // Act
    const missing = await store.get("acme/img/file_yyyyyyyyyyyyyyyyyyyyyyyy", new Date());
    const noExpiry = await store.get("acme/img/file_zzzzzzzzzzzzzzzzzzzzzzzz", new Date());

    // Assess
    expect(missing).toBeUndefined();
    expect(noExpiry).toBeUndefined();
  });

  it("refuses a key that could steer the object path, before any call", async () => {
    // Prepare
    const store = new S3BlobStore({ bucket: "no-such-bucket", client });

    // Act
    const put = store.put("../etc/passwd", { data: new Uint8Array(1), contentType: "x", expiresAt: new Date() });
    const get = store.get("acme/img/../../x", new Date());

    // Assess
    await expect(put).rejects.toThrow(/invalid blob key/);
    await expect(get).rejects.toThrow(/invalid blob key/);
  });

  it("behind the gateway: an image asked for as a URL is kept in S3 and served through the gateway's signed URL", async () => {
    // Prepare
    const platform = new TestPlatform();
    await platform.workload("acme", { slug: "img", task_type: "text2image" });
    const replica: ReplicaProcess = await startReplica({ id: platform.replicaIdFor("acme", "img"), serverSecret: platform.ctx.serverSecret });
    await platform.replica("acme", "img", { port: replica.port });
    const secret = (await platform.key("acme", "img")).secret;
    const served: ServedGateway = await serveGateway(platform, { blobs: new S3BlobStore({ bucket, client }), publicUrl: () => served.url });
    const openai = new OpenAI({ apiKey: secret, baseURL: `${served.url}/endpoint/acme/img/v1`, maxRetries: 0 });

    // Act
    const img = await openai.images.generate({ model: "m", prompt: "a red square", response_format: "url" });
    const url = img.data?.[0]?.url ?? "";
    const fetched = await fetch(url);
    const bytes = Buffer.from(await fetched.arrayBuffer());
    const fileId = /files\/(file_[0-9A-Za-z]{24})/.exec(url)?.[1];
    await served.close();

    // Assess
    expect(url.startsWith(`${served.url}/endpoint/acme/img/v1/files/file_`)).toBe(true);
    expect(fetched.status).toBe(200);
    expect(bytes.equals(PNG_1X1)).toBe(true);
    expect(await new S3BlobStore({ bucket, client }).get(`acme/img/${fileId}`, new Date())).toBeDefined();
  });
});
