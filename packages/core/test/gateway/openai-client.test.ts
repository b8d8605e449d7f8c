import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryBlobStore } from "../../src/gateway";
import { readUsage } from "../../src/usage";
import { bearer, type Fleet, PNG_1X1, rawRequest, type ServedGateway, serveGateway, GATEWAY_BINDINGS, startFleet, stopAllReplicas, TestPlatform } from "./support";

describe.each(GATEWAY_BINDINGS)("gateway: the official openai client, unchanged ($binding binding)", ({ binding }) => {
  let fleet: Fleet;
  let served: ServedGateway;
  const client = (workload: string) =>
    new OpenAI({
      apiKey: fleet.keys.get(workload)?.secret ?? "",
      baseURL: `${served.url}/endpoint/acme/${workload}/v1`,
      maxRetries: 0,
    });

  beforeAll(async () => {
    fleet = await startFleet(new TestPlatform());
    served = await serveGateway(fleet.platform, { blobs: new MemoryBlobStore(), publicUrl: () => served.url }, binding);
  });

  afterAll(async () => {
    await served?.close();
    await stopAllReplicas();
  });

  it("chat completions, without streaming", async () => {
    // Act
    const out = await client("chat").chat.completions.create({
      model: "model-chat",
      messages: [{ role: "user", content: "hello gateway" }],
    });

    // Assess
    expect(out.choices[0]?.message.content).toBe("echo(model-chat): hello gateway");
    expect(out.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
  });

  it("chat completions, streamed, with the usage chunk", async () => {
    // Act
    const stream = await client("chat").chat.completions.create({
      model: "model-chat",
      messages: [{ role: "user", content: "stream me please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }

    // Assess
    expect(text).toBe("echo(model-chat): stream me please");
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
  });

  it("completions, with and without streaming", async () => {
    // Act
    const plain = await client("chat").completions.create({ model: "model-chat", prompt: "once upon" });
    const stream = await client("chat").completions.create({ model: "model-chat", prompt: "a time", stream: true });
    let streamed = "";
    for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? "";

    // Assess
    expect(plain.choices[0]?.text).toBe("echo(model-chat): once upon");
    expect(streamed).toBe("echo(model-chat): a time");
  });

  it("embeddings", async () => {
    // Act
    // float: the test double ignores encoding_format, and the client asks for base64 unless told.
    const out = await client("embed").embeddings.create({ model: "model-embed", input: ["one", "two"], encoding_format: "float" });

    // Assess
    expect(out.data).toHaveLength(2);
    expect(out.data[0]?.embedding).toHaveLength(8);
  });

  it("image generation answers a URL that serves the PNG, though the replica returns only b64_json", async () => {
    // Act
    const img = await client("img").images.generate({ model: "model-img", prompt: "a red square" });
    const url = img.data?.[0]?.url ?? "";
    const fetched = await fetch(url);
    const bytes = Buffer.from(await fetched.arrayBuffer());

    // Assess
    expect(url).toMatch(new RegExp(`^${served.url}/endpoint/acme/img/v1/files/file_[0-9A-Za-z]{24}\\?expires=\\d+&sig=`));
    expect(img.data?.[0]?.b64_json).toBeUndefined();
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toBe("image/png");
    // Replica-produced bytes share the console's origin: never sniffed, never a document that runs script.
    expect(fetched.headers.get("x-content-type-options")).toBe("nosniff");
    expect(fetched.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(bytes.equals(PNG_1X1)).toBe(true);
  });

  it("image URLs come from the configured public URL, never from the request's Host header", async () => {
    // Act: a caller claims another host.
    const answer = await rawRequest(served.url, {
      method: "POST",
      path: "/endpoint/acme/img/v1/images/generations",
      headers: { ...bearer(fleet.keys.get("img")?.secret ?? ""), host: "evil.example", "content-type": "application/json" },
      body: JSON.stringify({ model: "model-img", prompt: "x" }),
    });
    const bare = await serveGateway(fleet.platform, { blobs: new MemoryBlobStore() }, binding);
    const unconfigured = await rawRequest(bare.url, {
      method: "POST",
      path: "/endpoint/acme/img/v1/images/generations",
      headers: { ...bearer(fleet.keys.get("img")?.secret ?? ""), host: "evil.example", "content-type": "application/json" },
      body: JSON.stringify({ model: "model-img", prompt: "x" }),
    });
    await bare.close();

    // Assess
    expect(answer.status).toBe(200);
    const url = (JSON.parse(answer.body) as { data: { url: string }[] }).data[0]?.url ?? "";
    expect(url.startsWith(`${served.url}/endpoint/acme/img/v1/files/`)).toBe(true);
    expect(answer.body).not.toContain("evil.example");
    const inline = (JSON.parse(unconfigured.body) as { data: { url: string }[] }).data[0]?.url ?? "";
    expect(inline.startsWith("data:image/png;base64,")).toBe(true);
  });

  it("image generation passes b64_json through when asked", async () => {
    // Act
    const img = await client("img").images.generate({ model: "model-img", prompt: "x", response_format: "b64_json" });

    // Assess
    expect(img.data?.[0]?.url).toBeUndefined();
    expect(Buffer.from(img.data?.[0]?.b64_json ?? "", "base64").equals(PNG_1X1)).toBe(true);
  });

  it("image edit (multipart upload) answers a URL by default and b64_json when the form asks", async () => {
    // Act
    const asUrl = await client("edit").images.edit({ model: "model-edit", image: await toFile(PNG_1X1, "in.png"), prompt: "blue" });
    const asB64 = await client("edit").images.edit({
      model: "model-edit",
      image: await toFile(PNG_1X1, "in.png"),
      prompt: "blue",
      response_format: "b64_json",
    });
    const fetched = await fetch(asUrl.data?.[0]?.url ?? "");

    // Assess
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(PNG_1X1)).toBe(true);
    expect(asB64.data?.[0]?.b64_json).toBe(PNG_1X1.toString("base64"));
  });

  it("speech returns the replica's binary audio intact, byte for byte", async () => {
    // Prepare
    const input = "hello from the gateway";
    const expected = Buffer.alloc(4096);
    for (let i = 0; i < expected.length; i++) expected[i] = (i * 7 + input.length) % 256;

    // Act
    const response = await client("tts").audio.speech.create({ model: "model-tts", voice: "alloy", input });
    const audio = Buffer.from(await response.arrayBuffer());

    // Assess
    expect(response.headers.get("content-type")).toBe("audio/mpeg");
    expect(audio.equals(expected)).toBe(true);
  });

  it("transcription of a multipart upload", async () => {
    // Prepare
    const wav = Buffer.alloc(100_000, 3);

    // Act
    const out = await client("stt").audio.transcriptions.create({ model: "model-stt", file: await toFile(wav, "clip.wav") });

    // Assess
    expect(out.text).toBe("transcribed 100000 bytes of clip.wav");
  });

  it("models lists the replica's model", async () => {
    // Act
    const page = await client("chat").models.list();

    // Assess
    expect(page.data.map((m) => m.id)).toEqual(["model-chat"]);
  });

  it("counts requests and tokens per workload and key, flushed to the store", async () => {
    // Prepare
    const from = new Date(Date.now() - 3_600_000);
    await client("chat").chat.completions.create({ model: "model-chat", messages: [{ role: "user", content: "count me" }] });

    // Act
    await served.gateway.flushUsage();
    const report = await readUsage(fleet.platform.ctx, "acme", "chat", { from, to: new Date(Date.now() + 60_000) });

    // Assess
    expect(report.totals.requests).toBeGreaterThanOrEqual(6);
    expect(report.totals.prompt_tokens).toBeGreaterThan(0);
    expect(report.totals.completion_tokens).toBeGreaterThan(0);
    // Streams are metered although the client did not ask for usage: the gateway asked the replica.
    expect(report.totals.unmetered).toBe(0);
    expect(report.by_key.map((k) => k.key_id)).toEqual([fleet.keys.get("chat")?.id]);
  });
});
