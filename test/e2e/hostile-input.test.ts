import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlatformProcess, startPlatformProcess } from "../support/platform-process";

/**
 * The hostile-input suite: the running local platform (`npm start`'s entry as a child process) is
 * sent malformed specs, bodies, headers, credentials, cursors and paths. Every case asserts the
 * status, the error code (`null` where node's own HTTP parser answers, with no body of ours) and
 * that the platform still answers `GET /v1/health` afterwards; the suite ends on that check too.
 * The named regressions of the hardening issue come first.
 */

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** `error.code` of a JSON error body (control API, gateway and agent API alike), else null. */
  code: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON error bodies
  json: any;
}

function dechunk(raw: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd === -1) return out;
    const size = Number.parseInt(raw.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += raw.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

function parseAnswer(raw: string): Answer {
  const headEnd = raw.indexOf("\r\n\r\n");
  const head = headEnd === -1 ? raw : raw.slice(0, headEnd);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = headEnd === -1 ? "" : raw.slice(headEnd + 4);
  const body = headers["transfer-encoding"] === "chunked" ? dechunk(rest) : rest;
  let json: unknown = null;
  try {
    json = JSON.parse(body);
  } catch {
    json = null;
  }
  const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body, code: typeof code === "string" ? code : null, json };
}

/** One request written byte for byte on a fresh connection; the answer is read until the server closes it. */
function rawRequest(baseUrl: string, request: string | Buffer, timeoutMs = 15_000): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1")));
    });
    socket.write(request);
  });
}

interface Call {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** A string or bytes sent with a Content-Length; an object is sent as its JSON. */
  body?: string | Buffer | object;
}

function requestBytes(call: Call): Buffer {
  const body =
    call.body === undefined ? undefined : Buffer.isBuffer(call.body) ? call.body : Buffer.from(typeof call.body === "string" ? call.body : JSON.stringify(call.body));
  const headers: Record<string, string> = { host: "127.0.0.1", connection: "close", ...call.headers };
  if (body !== undefined && headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
    headers["content-length"] = String(body.length);
  }
  const head = `${call.method ?? "GET"} ${call.path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`;
  return body === undefined ? Buffer.from(head, "latin1") : Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** The resident set of a process in MiB (Linux /proc). */
function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:")) ?? "";
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
}

/** Flips one character of a signed cursor's MAC, keeping it valid base64url. */
function flipMac(cursor: string): string {
  return `${cursor.slice(0, -2)}${cursor.at(-2) === "A" ? "B" : "A"}${cursor.at(-1)}`;
}

/** A well-formed secret of this prefix whose checksum is wrong. */
function badChecksum(secret: string): string {
  return `${secret.slice(0, -1)}${secret.at(-1) === "A" ? "B" : "A"}`;
}

const SPEC = { name: "Hostile", slug: "target", model: "org/model", backend: "vllm", execution_policy_config: { replicas: 0 } };

interface Expected {
  status: number;
  code: string | null;
  /** The first detail's path, when the answer is a validation error worth pinning down. */
  path?: string;
}

interface Case extends Expected {
  name: string;
  call: () => Call;
}

describe("hostile input against the running local platform", () => {
  let platform: PlatformProcess;
  const secrets = {
    admin: "",
    projectToken: "",
    otherProjectToken: "",
    revokedToken: "",
    key: "",
    pendingKey: "",
    otherWorkloadKey: "",
    revokedKey: "",
    workerToken: "",
    workloadsCursor: "",
    otherProjectCursor: "",
    projectsCursor: "",
  };

  const send = (call: Call) => rawRequest(platform.baseUrl, requestBytes(call));
  const admin = (call: Call): Call => ({ ...call, headers: { authorization: `Bearer ${secrets.admin}`, "content-type": "application/json", ...call.headers } });
  const putSpec = (spec: unknown, slug = "target"): Call =>
    admin({ method: "PUT", path: `/v1/projects/acme/workloads/${slug}`, body: typeof spec === "string" ? spec : JSON.stringify(spec) });
  const chat = (authorization: string | undefined, extra: Partial<Call> = {}): Call => ({
    method: "POST",
    path: "/endpoint/acme/chat/v1/chat/completions",
    headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
    body: { model: "m", messages: [{ role: "user", content: "hi" }] },
    ...extra,
  });

  const pendingChat = (timeout: string): Call => ({
    method: "POST",
    path: "/endpoint/acme/pending/v1/chat/completions",
    headers: { authorization: `Bearer ${secrets.pendingKey}`, "content-type": "application/json", "x-scale-up-timeout": timeout },
    body: { model: "m", messages: [{ role: "user", content: "hi" }] },
  });

  async function expectHealthy(): Promise<void> {
    const health = await send({ path: "/v1/health" });
    expect(health.status, "the platform still answers /v1/health").toBe(200);
  }

  async function expectAnswer(answer: Answer, expected: Expected): Promise<void> {
    expect(answer.status, answer.body.slice(0, 400)).toBe(expected.status);
    expect(answer.code).toBe(expected.code);
    if (expected.path !== undefined) expect(answer.json?.error?.details?.[0]?.path).toBe(expected.path);
    await expectHealthy();
  }

  beforeAll(async () => {
    platform = await startPlatformProcess();
    secrets.admin = platform.sdkToken;
    const json = async (call: Call) => {
      const answer = await send(admin(call));
      if (answer.status >= 300) throw new Error(`setup ${call.method} ${call.path}: ${answer.status} ${answer.body}`);
      return answer.json;
    };
    for (const project of ["acme", "beta", "gamma"]) {
      for (const slug of ["chat", "other", "third"]) {
        await json({ method: "PUT", path: `/v1/projects/${project}/workloads/${slug}`, body: { ...SPEC, slug } });
      }
    }
    // A workload that should run but never becomes ready: the gateway reaches its scale-up wait.
    await json({ method: "PUT", path: "/v1/projects/acme/workloads/pending", body: { ...SPEC, slug: "pending", command: "sleep 600", execution_policy_config: { replicas: 1 } } });
    secrets.pendingKey = (await json({ method: "POST", path: "/v1/projects/acme/workloads/pending/keys", body: { name: "k" } })).key;
    secrets.projectToken = (await json({ method: "POST", path: "/v1/tokens", body: { name: "acme only", project: "acme" } })).token;
    secrets.otherProjectToken = (await json({ method: "POST", path: "/v1/tokens", body: { name: "beta only", project: "beta" } })).token;
    const revoked = await json({ method: "POST", path: "/v1/tokens", body: { name: "revoked" } });
    await json({ method: "DELETE", path: `/v1/tokens/${revoked.id}` });
    secrets.revokedToken = revoked.token;
    secrets.key = (await json({ method: "POST", path: "/v1/projects/acme/workloads/chat/keys", body: { name: "k" } })).key;
    secrets.otherWorkloadKey = (await json({ method: "POST", path: "/v1/projects/acme/workloads/other/keys", body: { name: "k" } })).key;
    const revokedKey = await json({ method: "POST", path: "/v1/projects/acme/workloads/chat/keys", body: { name: "gone" } });
    await json({ method: "DELETE", path: `/v1/projects/acme/workloads/chat/keys/${revokedKey.id}` });
    secrets.revokedKey = revokedKey.key;
    secrets.workerToken = (await json({ method: "POST", path: "/v1/projects/acme/workers", body: { name: "box" } })).token;
    secrets.workloadsCursor = (await json({ path: "/v1/projects/acme/workloads?limit=1" })).next_cursor;
    secrets.otherProjectCursor = (await json({ path: "/v1/projects/beta/workloads?limit=1" })).next_cursor;
    secrets.projectsCursor = (await json({ path: "/v1/projects?limit=1" })).next_cursor;
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
  });

  describe("named regressions", () => {
    it("TRACE /v1/health without credentials is answered 501 and the process lives on", async () => {
      await expectAnswer(await send({ method: "TRACE", path: "/v1/health" }), { status: 501, code: "not_implemented" });
      expect(platform.child.exitCode).toBeNull();
    });

    it("a 200 MB chunked PUT with a valid project token is stopped at the limit: 413, Connection: close, RSS stays flat", async () => {
      // Prepare
      const before = rssMiB(platform.child.pid as number);
      const { hostname, port } = new URL(platform.baseUrl);

      // Act: the body streams in 64 KiB chunks without a length, as fast as the socket takes it.
      const answer = await new Promise<{ answer: Answer; sentMiB: number }>((resolve) => {
        const socket = connect(Number(port), hostname);
        const received: Buffer[] = [];
        let sent = 0;
        const total = 200 * 1024 * 1024;
        socket.on("data", (chunk: Buffer) => received.push(chunk));
        socket.on("error", () => undefined);
        socket.on("close", () => resolve({ answer: parseAnswer(Buffer.concat(received).toString("latin1")), sentMiB: sent / 1024 / 1024 }));
        socket.write(
          `PUT /v1/projects/acme/workloads/big HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secrets.projectToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        const chunk = Buffer.concat([Buffer.from("10000\r\n"), Buffer.alloc(0x10000, 0x20), Buffer.from("\r\n")]);
        const pump = () => {
          while (sent < total && !socket.destroyed) {
            sent += 0x10000;
            if (!socket.write(chunk)) {
              socket.once("drain", pump);
              return;
            }
          }
          if (!socket.destroyed) socket.end("0\r\n\r\n");
        };
        pump();
      });
      const after = rssMiB(platform.child.pid as number);

      // Assess
      console.log(`200 MB chunked PUT: ${answer.sentMiB.toFixed(1)} MiB written before the close; RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB`);
      expect(answer.answer.status).toBe(413);
      expect(answer.answer.code).toBe("payload_too_large");
      expect(answer.answer.headers.connection).toBe("close");
      expect(answer.sentMiB).toBeLessThan(200);
      expect(after - before).toBeLessThan(64);
      await expectHealthy();
    });

    it("a vllm_version of 100k digits is refused at once, and /v1/health never freezes", async () => {
      const started = performance.now();
      const answer = await send(putSpec({ ...SPEC, vllm_version: `1.1${"1".repeat(100_000)}!` }));
      expect(performance.now() - started).toBeLessThan(2000);
      await expectAnswer(answer, { status: 400, code: "validation_failed", path: "vllm_version" });
    });

    it("60k nested arrays are a 400 naming the depth limit, not a 500", async () => {
      const answer = await send(putSpec(`{"name":"x","slug":"target","model":"m","backend":"vllm","execution_policy_config":${"[".repeat(60_000)}${"]".repeat(60_000)}}`));
      await expectAnswer(answer, { status: 400, code: "validation_failed", path: "" });
      expect(answer.json.error.message).toContain("64");
    });

    it("__proto__ cannot carry a command and a policy past unknown-field errors", async () => {
      const body = JSON.stringify(SPEC).replace(/}$/, ',"__proto__":{"command":"echo INJECTED","execution_policy_config":{"replicas":3}}}');
      await expectAnswer(await send(putSpec(body)), { status: 400, code: "validation_failed", path: "__proto__" });
    });

    it("an unknown field toString gets no native-code suggestion", async () => {
      const answer = await send(putSpec({ ...SPEC, toString: 1 }));
      await expectAnswer(answer, { status: 400, code: "validation_failed", path: "toString" });
      expect(answer.body).not.toContain("native code");
    });

    it("a tampered list cursor is a 400 validation_failed at path cursor (was a store error)", async () => {
      const answer = await send(admin({ path: `/v1/projects/acme/workloads?cursor=${encodeURIComponent(flipMac(secrets.workloadsCursor))}` }));
      await expectAnswer(answer, { status: 400, code: "validation_failed", path: "cursor" });
    });

    it("a 413 on the gateway closes the connection", async () => {
      const answer = await send(chat(`Bearer ${secrets.key}`, { body: JSON.stringify({ model: "m", prompt: "x".repeat(17 * 1024 * 1024) }) }));
      await expectAnswer(answer, { status: 413, code: "payload_too_large" });
      expect(answer.headers.connection).toBe("close");
    });
  });

  const validation = (path?: string): Expected => ({ status: 400, code: "validation_failed", ...(path === undefined ? {} : { path }) });
  const policy = (execution_policy: string, config: unknown) => ({ ...SPEC, execution_policy, execution_policy_config: config });
  const autoscaling = (config: object) => policy("autoscaling", { min_workers: 0, max_workers: 2, ...config });

  const SPEC_CASES: { name: string; spec: unknown; expected: Expected; slug?: string }[] = [
    { name: "name missing", spec: { ...SPEC, name: undefined }, expected: validation("name") },
    { name: "name empty", spec: { ...SPEC, name: "" }, expected: validation("name") },
    { name: "name a number", spec: { ...SPEC, name: 7 }, expected: validation("name") },
    { name: "name 10k characters", spec: { ...SPEC, name: "n".repeat(10_000) }, expected: validation("name") },
    { name: "slug differs from the URL", spec: { ...SPEC, slug: "elsewhere" }, expected: validation("slug") },
    { name: "slug in capitals (URL and body)", spec: { ...SPEC, slug: "TARGET" }, slug: "TARGET", expected: validation("slug") },
    { name: "slug with the store's key separator", spec: { ...SPEC, slug: "a#wl#b" }, slug: "a%23wl%23b", expected: validation("slug") },
    { name: "slug of 64 characters", spec: { ...SPEC, slug: "a".repeat(64) }, slug: "a".repeat(64), expected: validation("slug") },
    { name: "model missing", spec: { ...SPEC, model: undefined }, expected: validation("model") },
    { name: "model with a space", spec: { ...SPEC, model: "org/model x" }, expected: validation("model") },
    { name: "model of 100k characters", spec: { ...SPEC, model: "m".repeat(100_000) }, expected: validation("model") },
    { name: "model an object", spec: { ...SPEC, model: { $ne: "" } }, expected: validation("model") },
    { name: "backend misspelt", spec: { ...SPEC, backend: "vlm" }, expected: validation("backend") },
    { name: "backend missing", spec: { ...SPEC, backend: undefined }, expected: validation("backend") },
    { name: "task_type unknown", spec: { ...SPEC, task_type: "mind_reading" }, expected: validation("task_type") },
    { name: "command empty", spec: { ...SPEC, command: "   " }, expected: validation("command") },
    { name: "command over 4096 characters", spec: { ...SPEC, command: "x".repeat(5000) }, expected: validation("command") },
    { name: "vllm_version not a version", spec: { ...SPEC, vllm_version: "latest; rm -rf /" }, expected: validation("vllm_version") },
    { name: "vllm_version of 65 characters", spec: { ...SPEC, vllm_version: `0.6.${"1".repeat(61)}` }, expected: validation("vllm_version") },
    { name: "worker_id malformed", spec: { ...SPEC, worker_id: "wrk_!!" }, expected: validation("worker_id") },
    { name: "execution_policy unknown", spec: { ...SPEC, execution_policy: "sometimes" }, expected: validation("execution_policy") },
    { name: "execution_policy_config an array", spec: { ...SPEC, execution_policy_config: [1] }, expected: validation() },
    { name: "replicas negative", spec: policy("fixed", { replicas: -1 }), expected: validation("execution_policy_config.replicas") },
    { name: "replicas fractional", spec: policy("fixed", { replicas: 1.5 }), expected: validation("execution_policy_config.replicas") },
    { name: "replicas a string", spec: policy("fixed", { replicas: "2" }), expected: validation("execution_policy_config.replicas") },
    { name: "replicas a billion", spec: policy("fixed", { replicas: 1e9 }), expected: validation("execution_policy_config.replicas") },
    { name: "scheduled with neither window nor cron", spec: policy("scheduled", {}), expected: validation() },
    { name: "scheduled window garbage", spec: policy("scheduled", { window: "whenever" }), expected: validation("execution_policy_config.window") },
    { name: "scheduled window of 100k spaces", spec: policy("scheduled", { window: `mon-fri 09:00${" ".repeat(100_000)}to 17:00` }), expected: validation("execution_policy_config.window") },
    { name: "cron with six fields", spec: policy("scheduled", { cron: "0 0 9 * * 1" }), expected: validation("execution_policy_config.cron") },
    { name: "cron of 100k spaces", spec: policy("scheduled", { cron: `${" ".repeat(100_000)}x` }), expected: validation("execution_policy_config.cron") },
    { name: "time zone unknown", spec: policy("scheduled", { cron: "0 9 * * 1", timezone: "Mars/Olympus_Mons" }), expected: validation("execution_policy_config.timezone") },
    { name: "time zone of 100k characters", spec: policy("scheduled", { cron: "0 9 * * 1", timezone: "Europe/".padEnd(100_000, "a") }), expected: validation("execution_policy_config.timezone") },
    { name: "autoscaling min over max", spec: autoscaling({ min_workers: 5, max_workers: 2, workers: { source: "private", private_worker_ids: ["wrk_abcd"] } }), expected: validation() },
    { name: "autoscaling workers from the moon", spec: autoscaling({ workers: { source: "moon" } }), expected: validation("execution_policy_config.workers.source") },
    { name: "autoscaling replicas instead of workers", spec: autoscaling({ replicas: 2, workers: { source: "private", private_worker_ids: ["wrk_abcd"] } }), expected: validation("execution_policy_config.replicas") },
    { name: "unknown top-level field", spec: { ...SPEC, replicas: 3 }, expected: validation("replicas") },
    { name: "constructor key", spec: `${JSON.stringify(SPEC).slice(0, -1)},"constructor":{"prototype":{"command":"x"}}}`, expected: validation("constructor") },
    { name: "prototype key deep inside", spec: policy("fixed", { prototype: { replicas: 2 } }), expected: validation("execution_policy_config.prototype") },
    { name: "null for a required field", spec: { ...SPEC, name: null }, expected: validation("name") },
  ];

  describe("specs", () => {
    it.each(SPEC_CASES)("$name", async ({ spec, expected, slug }) => {
      await expectAnswer(await send(putSpec(spec, slug)), expected);
    });
  });

  const BODY_CASES: Case[] = [
    { name: "not JSON", call: () => putSpec("{name: 'x'}"), ...validation("") },
    { name: "a JSON array", call: () => putSpec("[1,2,3]"), ...validation("") },
    { name: "a JSON string", call: () => putSpec('"spec"'), ...validation("") },
    { name: "JSON null", call: () => putSpec("null"), ...validation("") },
    { name: "truncated JSON", call: () => putSpec(JSON.stringify(SPEC).slice(0, 20)), ...validation("") },
    { name: "65 nested objects", call: () => putSpec(`${'{"a":'.repeat(65)}1${"}".repeat(65)}`), ...validation("") },
    { name: "an empty body", call: () => putSpec(""), ...validation() },
    { name: "invalid UTF-8 bytes in a string", call: () => admin({ method: "PUT", path: "/v1/projects/acme/workloads/target", body: Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","slug":"target"}')]) }), ...validation() },
    { name: "NUL bytes in the slug", call: () => putSpec({ ...SPEC, slug: "tar\u0000get" }), ...validation("slug") },
    { name: "300 KiB with a declared length", call: () => putSpec({ ...SPEC, name: "n".repeat(300 * 1024) }), status: 413, code: "payload_too_large" },
    { name: "a declared length of 10 GB", call: () => admin({ method: "PUT", path: "/v1/projects/acme/workloads/target", headers: { "content-length": "10000000000" }, body: "{" }), status: 413, code: "payload_too_large" },
    { name: "a key body that is not an object", call: () => admin({ method: "POST", path: "/v1/projects/acme/workloads/chat/keys", body: "null" }), ...validation("") },
    { name: "a worker heartbeat that is not JSON", call: () => ({ method: "POST", path: "/agent/v1/heartbeat", headers: { authorization: `Bearer ${secrets.workerToken}` }, body: "not json" }), ...validation("") },
    { name: "a worker heartbeat of 60k nested arrays", call: () => ({ method: "POST", path: "/agent/v1/heartbeat", headers: { authorization: `Bearer ${secrets.workerToken}` }, body: `${"[".repeat(60_000)}${"]".repeat(60_000)}` }), ...validation("") },
    { name: "a gateway body over the route's limit", call: () => chat(`Bearer ${secrets.key}`, { headers: { authorization: `Bearer ${secrets.key}`, "content-length": String(64 * 1024 * 1024) }, body: "{" }), status: 413, code: "payload_too_large" },
  ];

  describe("bodies", () => {
    it.each(BODY_CASES)("$name", async ({ call, ...expected }) => {
      await expectAnswer(await send(call()), expected);
    });
  });

  const HEADER_CASES: Case[] = [
    { name: "Idempotency-Key with a space", call: () => admin({ method: "POST", path: "/v1/projects/acme/workloads/chat/keys", headers: { "idempotency-key": "a b" }, body: { name: "k" } }), ...validation("Idempotency-Key") },
    { name: "Idempotency-Key of 300 characters", call: () => admin({ method: "POST", path: "/v1/projects/acme/workloads/chat/keys", headers: { "idempotency-key": "k".repeat(300) }, body: { name: "k" } }), ...validation("Idempotency-Key") },
    { name: "a negative Content-Length", call: () => ({ method: "POST", path: "/v1/projects", headers: { "content-length": "-1" } }), status: 400, code: null },
    { name: "a Content-Length that is not a number", call: () => ({ method: "POST", path: "/v1/projects", headers: { "content-length": "ten" } }), status: 400, code: null },
    { name: "two different Content-Lengths", call: () => ({ method: "POST", path: "/v1/projects", headers: { "content-length": "2, 3" }, body: "{}" }), status: 400, code: null },
    { name: "Content-Length and Transfer-Encoding together (smuggling)", call: () => ({ method: "POST", path: "/v1/projects", headers: { "content-length": "5", "transfer-encoding": "chunked" }, body: "0\r\n\r\n" }), status: 400, code: null },
    { name: "a control character in a header value", call: () => ({ path: "/v1/projects", headers: { authorization: "Bearer \u0001x" } }), status: 400, code: null },
    { name: "a 64 KiB header", call: () => ({ path: "/v1/projects", headers: { "x-filler": "f".repeat(64 * 1024) } }), status: 431, code: null },
    { name: "a Host header that is no host", call: () => ({ path: "/v1/projects", headers: { host: "evil.example/../x y" } }), status: 401, code: "unauthorized" },
    { name: "a forged x-request-id", call: () => ({ path: "/v1/projects", headers: { "x-request-id": "req_../../etc\r" } }), status: 400, code: null },
    { name: "X-Scale-Up-Timeout that is not a number", call: () => pendingChat("soon"), status: 400, code: "invalid_scale_up_timeout" },
    { name: "X-Scale-Up-Timeout of 10k digits", call: () => pendingChat("9".repeat(10_000)), status: 400, code: "invalid_scale_up_timeout" },
    { name: "Authorization of 100 KiB", call: () => ({ path: "/v1/projects", headers: { authorization: `Bearer ${"a".repeat(100 * 1024)}` } }), status: 431, code: null },
  ];

  describe("headers", () => {
    it.each(HEADER_CASES)("$name", async ({ call, ...expected }) => {
      await expectAnswer(await send(call()), expected);
    });
  });

  const TOKEN_CASES: Case[] = [
    { name: "control API without Authorization", call: () => ({ path: "/v1/projects" }), status: 401, code: "unauthorized" },
    { name: "control API with Basic credentials", call: () => ({ path: "/v1/projects", headers: { authorization: "Basic YWRtaW46YWRtaW4=" } }), status: 401, code: "unauthorized" },
    { name: "control API with an empty Bearer", call: () => ({ path: "/v1/projects", headers: { authorization: "Bearer " } }), status: 401, code: "unauthorized" },
    { name: "control API with a token of the wrong checksum", call: () => ({ path: "/v1/projects", headers: { authorization: `Bearer ${badChecksum(secrets.admin)}` } }), status: 401, code: "unauthorized" },
    { name: "control API with a data key", call: () => ({ path: "/v1/projects", headers: { authorization: `Bearer ${secrets.key}` } }), status: 401, code: "unauthorized" },
    { name: "control API with a worker token", call: () => ({ path: "/v1/projects", headers: { authorization: `Bearer ${secrets.workerToken}` } }), status: 401, code: "unauthorized" },
    { name: "control API with a revoked token", call: () => ({ path: "/v1/projects", headers: { authorization: `Bearer ${secrets.revokedToken}` } }), status: 401, code: "unauthorized" },
    { name: "control API with an Authorization of 600 characters", call: () => ({ path: "/v1/projects", headers: { authorization: `Bearer ik_sdk_${"a".repeat(590)}` } }), status: 401, code: "unauthorized" },
    // Another project's resources are not even confirmed to exist.
    { name: "a project token on another project", call: () => ({ path: "/v1/projects/acme/workloads", headers: { authorization: `Bearer ${secrets.otherProjectToken}` } }), status: 404, code: "not_found" },
    { name: "a project token minting tokens", call: () => ({ method: "POST", path: "/v1/tokens", headers: { authorization: `Bearer ${secrets.projectToken}` }, body: { name: "escalate" } }), status: 403, code: "forbidden" },
    { name: "gateway without a key", call: () => chat(undefined), status: 401, code: "missing_api_key" },
    { name: "gateway with a malformed Authorization", call: () => chat("Token abc"), status: 401, code: "malformed_api_key" },
    { name: "gateway with a control token", call: () => chat(`Bearer ${secrets.admin}`), status: 401, code: "wrong_key_kind" },
    { name: "gateway with a key of the wrong checksum", call: () => chat(`Bearer ${badChecksum(secrets.key)}`), status: 401, code: "malformed_api_key" },
    { name: "gateway with another workload's key", call: () => chat(`Bearer ${secrets.otherWorkloadKey}`), status: 401, code: "key_wrong_workload" },
    { name: "gateway with a revoked key", call: () => chat(`Bearer ${secrets.revokedKey}`), status: 401, code: "key_revoked" },
    { name: "agent API without a token", call: () => ({ method: "POST", path: "/agent/v1/heartbeat", body: "{}" }), status: 401, code: "unauthorized" },
    { name: "agent API with a control token", call: () => ({ method: "POST", path: "/agent/v1/heartbeat", headers: { authorization: `Bearer ${secrets.admin}` }, body: "{}" }), status: 401, code: "unauthorized" },
  ];

  describe("tokens and keys", () => {
    it.each(TOKEN_CASES)("$name", async ({ call, ...expected }) => {
      await expectAnswer(await send(call()), expected);
    });
  });

  const cursorCall = (path: string, cursor: () => string) => () => admin({ path: `${path}?cursor=${encodeURIComponent(cursor())}` });
  const CURSOR_CASES: Case[] = [
    { name: "garbage", call: cursorCall("/v1/projects/acme/workloads", () => "garbage"), ...validation("cursor") },
    { name: "the MAC cut off (a raw store cursor)", call: cursorCall("/v1/projects/acme/workloads", () => secrets.workloadsCursor.slice(0, secrets.workloadsCursor.lastIndexOf("."))), ...validation("cursor") },
    { name: "another project's cursor", call: cursorCall("/v1/projects/acme/workloads", () => secrets.otherProjectCursor), ...validation("cursor") },
    { name: "a projects cursor on a workloads listing", call: cursorCall("/v1/projects/acme/workloads", () => secrets.projectsCursor), ...validation("cursor") },
    {
      name: "a forged key of the secrets partition",
      call: cursorCall("/v1/projects", () => `${Buffer.from(JSON.stringify(["SECRET", "SECRET#x", "SECRET"])).toString("base64url")}.AAAAAAAAAAAAAAAAAAAAAA`),
      ...validation("cursor"),
    },
    { name: "a cursor of 5000 characters", call: cursorCall("/v1/projects", () => "c".repeat(5000)), ...validation("cursor") },
  ];

  describe("cursors", () => {
    it.each(CURSOR_CASES)("$name", async ({ call, ...expected }) => {
      await expectAnswer(await send(call()), expected);
    });

    it("a cursor the listing issued still pages on", async () => {
      const answer = await send(admin({ path: `/v1/projects/acme/workloads?limit=5&cursor=${encodeURIComponent(secrets.workloadsCursor)}` }));
      expect(answer.status).toBe(200);
      expect(answer.json.data[0].slug).toBe("other");
    });
  });

  const PATH_CASES: Case[] = [
    { name: "no such route", call: () => admin({ path: "/v1/nothing-here" }), status: 404, code: "not_found" },
    { name: "a method the route does not take", call: () => admin({ method: "PATCH", path: "/v1/projects" }), status: 405, code: "method_not_allowed" },
    { name: "POST /v1/health", call: () => ({ method: "POST", path: "/v1/health", body: "{}" }), status: 405, code: "method_not_allowed" },
    { name: "DELETE /agent/v1/heartbeat", call: () => ({ method: "DELETE", path: "/agent/v1/heartbeat" }), status: 405, code: "method_not_allowed" },
    { name: "a project slug with an encoded slash", call: () => admin({ path: "/v1/projects/acme%2Fbeta/workloads" }), status: 404, code: "not_found" },
    { name: "dot segments climbing out of a project", call: () => admin({ path: "/v1/projects/acme/../../v1/tokens/../projects/%2e%2e/workloads" }), status: 404, code: "not_found" },
    { name: "a malformed percent escape", call: () => admin({ path: "/v1/projects/%E0%A4%A/workloads" }), status: 404, code: "not_found" },
    { name: "a NUL byte in the path", call: () => admin({ path: "/v1/projects/acme%00/workloads" }), status: 404, code: "not_found" },
    { name: "the asterisk target", call: () => ({ method: "OPTIONS", path: "*" }), status: 400, code: "bad_request" },
    { name: "a path of 9000 characters", call: () => admin({ path: `/v1/projects/${"a".repeat(9000)}` }), status: 400, code: "bad_request" },
    { name: "an endpoint with a capitalised project", call: () => chat(`Bearer ${secrets.key}`, { path: "/endpoint/ACME/chat/v1/chat/completions" }), status: 404, code: "not_found" },
    { name: "an endpoint route that climbs to the control API", call: () => chat(`Bearer ${secrets.key}`, { path: "/endpoint/acme/chat/v1/../../../v1/projects" }), status: 404, code: "not_found" },
    { name: "an endpoint route the workload does not serve", call: () => chat(`Bearer ${secrets.key}`, { path: "/endpoint/acme/chat/v1/images/generations" }), status: 404, code: "route_not_served" },
    { name: "an endpoint file with a forged signature", call: () => ({ path: "/endpoint/acme/chat/v1/files/file_AAAAAAAAAAAAAAAAAAAAAAAA?expires=9999999999&sig=x" }), status: 403, code: "file_url_invalid" },
    { name: "an endpoint file id that climbs", call: () => ({ path: "/endpoint/acme/chat/v1/files/..%2f..%2fserver-secret?expires=9999999999&sig=x" }), status: 403, code: "file_url_invalid" },
    { name: "GET on a POST endpoint route", call: () => chat(`Bearer ${secrets.key}`, { method: "GET", body: undefined }), status: 405, code: "method_not_allowed" },
  ];

  describe("paths and methods", () => {
    it.each(PATH_CASES)("$name", async ({ call, ...expected }) => {
      await expectAnswer(await send(call()), expected);
    });
  });

  it("the suite ends with the platform answering /v1/health", async () => {
    await expectHealthy();
    expect(platform.child.exitCode).toBeNull();
  });
});
