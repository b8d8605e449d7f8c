import { afterEach, describe, expect, it, vi } from "vitest";
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  ConfigurationError,
  DataClient,
  type DataClientOptions,
  InferenceKeyError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
  ValidationError,
} from "../src";
import { SDK_VERSION } from "../src/version";
import {
  connectionRefused,
  connectionReset,
  type FakeFetch,
  fakeFetch,
  jsonResponse,
} from "./helpers/fake-fetch";
import { BASE_URL } from "./helpers/fixtures";

const API_KEY = "ik_live_testkey000000000000000000000";
const CHAT_URL = `${BASE_URL}/endpoint/acme/support-bot/v1/chat/completions`;

function data(fetch: FakeFetch, options: Partial<DataClientOptions> = {}) {
  return new DataClient({ project: "acme", baseUrl: BASE_URL, fetch, ...options });
}

function endpoint(fetch: FakeFetch, options: Partial<DataClientOptions> = {}) {
  return data(fetch, options).endpoint("support-bot", { apiKey: API_KEY });
}

function completion(content: string, overrides: Record<string, unknown> = {}) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_767_225_600,
    model: "meta-llama/Llama-3.1-8B-Instruct",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 14, completion_tokens: 12, total_tokens: 26 },
    ...overrides,
  };
}

/** A data-plane error answer as the gateway sends it (OpenAI's shape). */
function gatewayError(
  status: number,
  code: string | null,
  message: string,
  options: { type?: string; retryAfter?: string; requestId?: string } = {},
): Response {
  const headers: Record<string, string> = { "x-request-id": options.requestId ?? "req_gw" };
  if (options.retryAfter !== undefined) headers["retry-after"] = options.retryAfter;
  return jsonResponse(
    status,
    { error: { message, type: options.type ?? "invalid_request_error", param: null, code } },
    headers,
  );
}

const scalingUp = (retryAfter = "15") =>
  gatewayError(
    503,
    "workload_scaling_up",
    "Workload acme/support-bot has no ready replica yet; one is starting.",
    {
      type: "service_unavailable",
      retryAfter,
    },
  );

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe("DataClient construction", () => {
  it("fromEnv reads only INFERENCEKEY_BASE_URL and needs no SDK token", () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_SDK_TOKEN", "");
    vi.stubEnv("INFERENCEKEY_BASE_URL", "http://localhost:8787/");

    // Act
    const client = DataClient.fromEnv({ project: "acme" });

    // Assess
    expect(client.baseUrl).toBe("http://localhost:8787");
    expect(client.project).toBe("acme");
  });

  it("fromEnv takes the project from INFERENCEKEY_PROJECT and the default data key from INFERENCEKEY_API_KEY", async () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_PROJECT", "from-env");
    vi.stubEnv("INFERENCEKEY_API_KEY", API_KEY);
    vi.stubEnv("INFERENCEKEY_BASE_URL", BASE_URL);
    const fetch = fakeFetch(jsonResponse(200, { choices: [{ message: { content: "hi" } }] }));

    // Act
    const client = DataClient.fromEnv({ fetch });
    const explicit = DataClient.fromEnv({ project: "acme" });
    await client.endpoint("support-bot").generateText({ prompt: "Hi" });

    // Assess
    expect(client.project).toBe("from-env");
    expect(explicit.project).toBe("acme");
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/endpoint/from-env/support-bot/v1/chat/completions`);
    expect(fetch.calls[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it("fromEnv names INFERENCEKEY_PROJECT when no project is given anywhere", () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_PROJECT", "");

    // Act
    const build = () => DataClient.fromEnv();

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/INFERENCEKEY_PROJECT/);
  });

  it("uses the default key only when apiKey is absent, never for an explicit undefined", () => {
    // Prepare
    const client = data(fakeFetch(), { apiKey: API_KEY });
    const bare = data(fakeFetch());

    // Act
    const defaulted = () => client.endpoint("support-bot");
    const unsetVariable = () => client.endpoint("support-bot", { apiKey: undefined });
    const noDefault = () => bare.endpoint("support-bot");

    // Assess
    expect(defaulted).not.toThrow();
    expect(unsetVariable).toThrow(/undefined: is the environment variable you read set\?/);
    expect(noDefault).toThrow(/INFERENCEKEY_API_KEY/);
  });

  it("fromEnv defaults to the hosted API and names the variable of a bad URL", () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_BASE_URL", "");

    // Act
    const client = DataClient.fromEnv({ project: "acme" });
    vi.stubEnv("INFERENCEKEY_BASE_URL", "localhost:8787");
    const bad = () => DataClient.fromEnv({ project: "acme" });

    // Assess
    expect(client.baseUrl).toBe("https://api.inferencekey.com");
    expect(bad).toThrow(ConfigurationError);
    expect(bad).toThrow(/INFERENCEKEY_BASE_URL/);
  });

  it("needs a project", () => {
    // Prepare
    const options = { project: " " };

    // Act
    const build = () => new DataClient(options);

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/project/);
  });

  it("endpoint() builds the workload's OpenAI-compatible base URL, encoding the slug", () => {
    // Prepare
    const client = data(fakeFetch());

    // Act
    const ep = client.endpoint("support bot", { apiKey: API_KEY });

    // Assess
    expect(ep.baseUrl).toBe(`${BASE_URL}/endpoint/acme/support%20bot/v1`);
    expect(ep.slug).toBe("support bot");
    expect(ep.project).toBe("acme");
  });

  it("endpoint() throws a ConfigurationError naming apiKey when the key is missing, blank or the wrong kind", () => {
    // Prepare
    const client = data(fakeFetch());
    const unsetVariable: string | undefined = process.env.IK_TEST_UNSET_VARIABLE;

    // Act
    const missing = () => client.endpoint("support-bot", { apiKey: unsetVariable });
    const blank = () => client.endpoint("support-bot", { apiKey: "  " });
    const control = () => client.endpoint("support-bot", { apiKey: "ik_sdk_abc" });
    const agent = () => client.endpoint("support-bot", { apiKey: "ik_wrk_abc" });

    // Assess
    expect(missing).toThrow(ConfigurationError);
    expect(missing).toThrow(/\{ apiKey \}.*undefined.*environment variable/);
    expect(blank).toThrow(/apiKey.*empty string/);
    expect(control).toThrow(/ik_sdk_ control token as apiKey/);
    expect(agent).toThrow(/ik_wrk_ agent token as apiKey/);
  });
});

describe("generateText", () => {
  it("sends the prompt as one user message to chat/completions with the data key and snake_case sampling", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, completion("Su saldo es 1.250,00 EUR.")));
    const ep = endpoint(fetch);

    // Act
    await ep.generateText({
      prompt: "Hola, ¿cuál es mi saldo?",
      temperature: 0.2,
      maxTokens: 300,
      topP: 0.9,
      stop: ["\n\n"],
      extraBody: { top_k: 40 },
    });

    // Assess
    const call = fetch.calls[0];
    expect(call?.url).toBe(CHAT_URL);
    expect(call?.method).toBe("POST");
    expect(call?.headers).toMatchObject({
      authorization: `Bearer ${API_KEY}`,
      "content-type": "application/json",
      "user-agent": `inferencekey-sdk-ts/${SDK_VERSION}`,
    });
    expect(call?.headers).not.toHaveProperty("x-scale-up-timeout");
    expect(call?.body).toEqual({
      messages: [{ role: "user", content: "Hola, ¿cuál es mi saldo?" }],
      temperature: 0.2,
      max_tokens: 300,
      top_p: 0.9,
      stop: ["\n\n"],
      top_k: 40,
    });
  });

  it("sends only what was given: no model, no undefined fields", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, completion("Hi")), jsonResponse(200, completion("Hi")));
    const ep = endpoint(fetch);

    // Act
    await ep.generateText({ prompt: "Hi", temperature: undefined });
    await ep.generateText({ prompt: "Hi", model: "meta-llama/Llama-3.1-8B-Instruct", seed: 7 });

    // Assess
    expect(fetch.calls[0]?.body).toEqual({ messages: [{ role: "user", content: "Hi" }] });
    expect(fetch.calls[1]?.body).toEqual({
      messages: [{ role: "user", content: "Hi" }],
      model: "meta-llama/Llama-3.1-8B-Instruct",
      seed: 7,
    });
  });

  it("maps the completion to { text, model, usage, finishReason }", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, completion("Su saldo es 1.250,00 EUR.")));
    const ep = endpoint(fetch);

    // Act
    const out = await ep.generateText({ prompt: "Hola" });

    // Assess
    expect(out).toMatchObject({
      text: "Su saldo es 1.250,00 EUR.",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      usage: { promptTokens: 14, completionTokens: 12, totalTokens: 26 },
      finishReason: "stop",
      id: "chatcmpl-1",
    });
    expect(out.raw.choices?.[0]?.message?.content).toBe("Su saldo es 1.250,00 EUR.");
  });

  it("reads an answer without usage as usage undefined, and a missing total as the sum", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(200, completion("a", { usage: undefined })),
      jsonResponse(200, completion("b", { usage: { prompt_tokens: 3, completion_tokens: 4 } })),
    );
    const ep = endpoint(fetch);

    // Act
    const without = await ep.generateText({ prompt: "x" });
    const partial = await ep.generateText({ prompt: "x" });

    // Assess
    expect(without.usage).toBeUndefined();
    expect(partial.usage).toEqual({ promptTokens: 3, completionTokens: 4, totalTokens: 7 });
  });

  it("rejects a prompt that is not a string before any request", async () => {
    // Prepare
    const fetch = fakeFetch();
    const ep = endpoint(fetch);
    const untyped = { prompt: 42 } as unknown as { prompt: string };

    // Act
    const error = await ep.generateText(untyped).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ details: [{ path: "prompt", received: 42 }] });
    expect(fetch.calls).toHaveLength(0);
  });

  it("reports a success answer that is not a JSON object as invalid_response", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, ["not", "an", "object"]));
    const ep = endpoint(fetch);

    // Act
    const error = await ep.generateText({ prompt: "x" }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InferenceKeyError);
    expect(error).toMatchObject({ code: "invalid_response" });
  });
});

describe("chat", () => {
  it("sends the messages as given and returns an assistant message to append", async () => {
    // Prepare
    const toolCalls = [{ id: "call_1", type: "function", function: { name: "balance", arguments: "{}" } }];
    const fetch = fakeFetch(
      jsonResponse(
        200,
        completion("", {
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: null, tool_calls: toolCalls },
              finish_reason: "tool_calls",
            },
          ],
        }),
      ),
    );
    const ep = endpoint(fetch);
    const messages = [
      { role: "system", content: "You are a concise banking assistant." },
      { role: "user", content: "What is my balance?" },
    ];

    // Act
    const reply = await ep.chat({ messages, maxTokens: 200 });

    // Assess
    expect(fetch.calls[0]?.url).toBe(CHAT_URL);
    expect(fetch.calls[0]?.body).toEqual({ messages, max_tokens: 200 });
    expect(reply.message).toEqual({ role: "assistant", content: "", tool_calls: toolCalls });
    expect(reply.finishReason).toBe("tool_calls");
  });

  it("rejects an empty conversation before any request", async () => {
    // Prepare
    const fetch = fakeFetch();
    const ep = endpoint(fetch);

    // Act
    const error = await ep.chat({ messages: [] }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(fetch.calls).toHaveLength(0);
  });
});

describe("embed", () => {
  it("posts { input } to embeddings and returns the vectors in input order", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(200, {
        object: "list",
        model: "BAAI/bge-large-en-v1.5",
        data: [
          { object: "embedding", index: 1, embedding: [0.3, 0.4] },
          { object: "embedding", index: 0, embedding: [0.1, 0.2] },
        ],
        usage: { prompt_tokens: 6, total_tokens: 6 },
      }),
    );
    const ep = data(fetch).endpoint("billing", { apiKey: API_KEY });

    // Act
    const emb = await ep.embed({ input: ["invoice #42", "refund policy"], dimensions: 2 });

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/endpoint/acme/billing/v1/embeddings`);
    expect(fetch.calls[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(fetch.calls[0]?.body).toEqual({ input: ["invoice #42", "refund policy"], dimensions: 2 });
    expect(emb).toMatchObject({
      embeddings: [
        [0.1, 0.2],
        [0.3, 0.4],
      ],
      model: "BAAI/bge-large-en-v1.5",
      usage: { promptTokens: 6, completionTokens: 0, totalTokens: 6 },
    });
  });

  it("accepts one string and rejects anything but strings", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, { model: "m", data: [{ index: 0, embedding: [1] }] }));
    const ep = endpoint(fetch);
    const untyped = { input: ["ok", 3] } as unknown as { input: string[] };

    // Act
    const one = await ep.embed({ input: "invoice #42" });
    const error = await ep.embed(untyped).catch((e: unknown) => e);

    // Assess
    expect(fetch.calls[0]?.body).toEqual({ input: "invoice #42" });
    expect(one.embeddings).toEqual([[1]]);
    expect(error).toBeInstanceOf(ValidationError);
    expect(fetch.calls).toHaveLength(1);
  });
});

describe("data-plane errors", () => {
  it.each([
    [401, "invalid_api_key", "authentication_error", AuthenticationError],
    [404, "workload_not_found", "invalid_request_error", NotFoundError],
    [400, "invalid_request_body", "invalid_request_error", BadRequestError],
    [429, "rate_limit_exceeded", "rate_limit_error", RateLimitError],
    [504, "upstream_timeout", "upstream_error", InternalServerError],
  ] as const)(
    "maps %i %s (OpenAI shape) to its class with code, type and request id",
    async (status, code, type, expected) => {
      // Prepare
      const fetch = fakeFetch(gatewayError(status, code, "it failed", { type, requestId: "req_42" }));
      const ep = endpoint(fetch, { maxRetries: 0 });

      // Act
      const error = await ep.generateText({ prompt: "x" }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(expected);
      expect(error).toMatchObject({
        status,
        code,
        errorType: type,
        message: "it failed",
        requestId: "req_42",
      });
    },
  );

  it("uses the OpenAI type as the code when code is null", async () => {
    // Prepare
    const fetch = fakeFetch(gatewayError(400, null, "max_tokens must be at least 1, got 0."));
    const ep = endpoint(fetch);

    // Act
    const error = await ep.generateText({ prompt: "x", maxTokens: 0 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ code: "invalid_request_error", errorType: "invalid_request_error" });
  });
});

describe("data-plane retries", () => {
  it("retries 503 workload_scaling_up after its Retry-After, then succeeds", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch(scalingUp("5"), jsonResponse(200, completion("ready")));
    const ep = endpoint(fetch);

    // Act
    const pending = ep.generateText({ prompt: "Hola" });
    await vi.advanceTimersByTimeAsync(4_999);
    const callsBeforeRetryAfter = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(1);
    const out = await pending;

    // Assess
    expect(callsBeforeRetryAfter).toBe(1);
    expect(fetch.calls).toHaveLength(2);
    expect(out.text).toBe("ready");
    expect(fetch.calls[1]?.body).toEqual(fetch.calls[0]?.body);
  });

  it("polls a cold workload past maxRetries, after each retry-after-ms, until a replica answers", async () => {
    // Prepare: four "scaling up" answers asking to come back in 300 ms, then the replica answers.
    vi.useFakeTimers();
    const cold = () =>
      jsonResponse(
        503,
        { error: { message: "starting", type: "service_unavailable", param: null, code: "workload_scaling_up" } },
        { "retry-after": "1", "retry-after-ms": "300" },
      );
    const fetch = fakeFetch(cold(), cold(), cold(), cold(), jsonResponse(200, completion("awake")));
    const ep = endpoint(fetch, { maxRetries: 0 });

    // Act
    const pending = ep.generateText({ prompt: "Hola" });
    await vi.advanceTimersByTimeAsync(1_200);
    const out = await pending;

    // Assess
    expect(out.text).toBe("awake");
    expect(fetch.calls).toHaveLength(5);
  });

  it("stops polling when the next poll would end past the call's timeout, with the 503 workload_scaling_up", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch(scalingUp("2"), scalingUp("2"), scalingUp("2"), scalingUp("2"));
    const ep = endpoint(fetch, { maxRetries: 0, timeoutMs: 5_000 });

    // Act
    const pending = ep.generateText({ prompt: "Hola" });
    const assessed = expect(pending).rejects.toBeInstanceOf(InternalServerError);
    await vi.advanceTimersByTimeAsync(5_000);

    // Assess: polled at 0, 2 and 4 s; a poll at 6 s would be past the 5 s timeout.
    await assessed;
    await expect(pending).rejects.toMatchObject({
      status: 503,
      code: "workload_scaling_up",
      errorType: "service_unavailable",
      retryAfterSeconds: 2,
    });
    expect(fetch.calls).toHaveLength(3);
  });

  it("polls for scaleUpTimeoutSeconds when given, not for the whole timeout", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch(scalingUp("2"), scalingUp("2"), scalingUp("2"), scalingUp("2"));
    const ep = endpoint(fetch, { timeoutMs: 60_000 });

    // Act
    const pending = ep.generateText({ prompt: "Hola", scaleUpTimeoutSeconds: 3 });
    const assessed = expect(pending).rejects.toMatchObject({ code: "workload_scaling_up" });
    await vi.advanceTimersByTimeAsync(5_000);

    // Assess: polled at 0 and 2 s; the next, at 4 s, is past the 3 s scale-up budget.
    await assessed;
    expect(fetch.calls).toHaveLength(2);
    expect(fetch.calls[0]?.headers["x-scale-up-timeout"]).toBe("3");
  });

  it("does not wait past the call's timeout: a Retry-After beyond it fails at once", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch(scalingUp("15"));
    const ep = endpoint(fetch, { timeoutMs: 10_000 });

    // Act
    const error = await ep.generateText({ prompt: "Hola" }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ code: "workload_scaling_up" });
    expect(fetch.calls).toHaveLength(1);
  });

  it("retries 429 and a connection that never opened, but not failures after the request went out", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch(
      gatewayError(429, "rate_limit_exceeded", "slow down", { type: "rate_limit_error", retryAfter: "1" }),
      connectionRefused(),
      jsonResponse(200, completion("ok")),
      gatewayError(502, "upstream_bad_response", "replica failed", { type: "upstream_error" }),
      connectionReset(),
    );
    const ep = endpoint(fetch);

    // Act
    const pending = ep.generateText({ prompt: "x" });
    await vi.advanceTimersByTimeAsync(2_000);
    const out = await pending;
    const upstream = await ep.generateText({ prompt: "x" }).catch((e: unknown) => e);
    const reset = await ep.generateText({ prompt: "x" }).catch((e: unknown) => e);

    // Assess
    expect(out.text).toBe("ok");
    expect(upstream).toBeInstanceOf(InternalServerError);
    expect(reset).toBeInstanceOf(APIConnectionError);
    expect(fetch.calls).toHaveLength(5);
  });
});

describe("X-Scale-Up-Timeout", () => {
  it("is sent from the endpoint's option and overridden per call", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, completion("a")), jsonResponse(200, completion("b")));
    const ep = data(fetch, { timeoutMs: 180_000 }).endpoint("support-bot", {
      apiKey: API_KEY,
      scaleUpTimeoutSeconds: 60,
    });

    // Act
    await ep.generateText({ prompt: "x" });
    await ep.generateText({ prompt: "x", scaleUpTimeoutSeconds: 120 });

    // Assess
    expect(fetch.calls.map((c) => c.headers["x-scale-up-timeout"])).toEqual(["60", "120"]);
  });

  it("is rejected when negative, or not below the call's timeout", async () => {
    // Prepare
    const client = data(fakeFetch());
    const ep = client.endpoint("support-bot", { apiKey: API_KEY });

    // Act
    const negative = () => client.endpoint("support-bot", { apiKey: API_KEY, scaleUpTimeoutSeconds: -1 });
    const tooLong = ep.generateText({ prompt: "x", scaleUpTimeoutSeconds: 60 }).catch((e: unknown) => e);
    const shortCall = ep
      .embed({ input: "x", scaleUpTimeoutSeconds: 30, timeoutMs: 10_000 })
      .catch((e: unknown) => e);

    // Assess
    expect(negative).toThrow(/scaleUpTimeoutSeconds must be a number of seconds >= 0/);
    expect(await tooLong).toBeInstanceOf(ConfigurationError);
    expect(await tooLong).toMatchObject({ message: expect.stringContaining("raise timeoutMs") });
    expect(await shortCall).toBeInstanceOf(ConfigurationError);
  });
});
