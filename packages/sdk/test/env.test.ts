import { describe, expect, it } from "vitest";
import { DEFAULT_BASE_URL, ENV_VARS, readEnvironment } from "../src/env";

describe("readEnvironment", () => {
  it("defaults the base URL to the hosted API when INFERENCEKEY_BASE_URL is unset", () => {
    // Prepare
    const source = { INFERENCEKEY_SDK_TOKEN: "ik_sdk_abc" };

    // Act
    const env = readEnvironment(source);

    // Assess
    expect(env).toEqual({ token: "ik_sdk_abc", baseUrl: "https://api.inferencekey.com" });
    expect(DEFAULT_BASE_URL).toBe("https://api.inferencekey.com");
  });

  it("reads both variables by their documented names", () => {
    // Prepare
    const source = { [ENV_VARS.sdkToken]: "ik_sdk_abc", [ENV_VARS.baseUrl]: "http://localhost:8787" };

    // Act
    const env = readEnvironment(source);

    // Assess
    expect(ENV_VARS).toEqual({
      sdkToken: "INFERENCEKEY_SDK_TOKEN",
      baseUrl: "INFERENCEKEY_BASE_URL",
      project: "INFERENCEKEY_PROJECT",
      apiKey: "INFERENCEKEY_API_KEY",
    });
    expect(env).toEqual({ token: "ik_sdk_abc", baseUrl: "http://localhost:8787" });
  });

  it("treats blank values as unset and trims the rest", () => {
    // Prepare
    const source = { INFERENCEKEY_SDK_TOKEN: "   ", INFERENCEKEY_BASE_URL: "" };

    // Act
    const blank = readEnvironment(source);
    const padded = readEnvironment({ INFERENCEKEY_SDK_TOKEN: " ik_sdk_abc\n" });

    // Assess
    expect(blank).toEqual({ token: undefined, baseUrl: DEFAULT_BASE_URL });
    expect(padded.token).toBe("ik_sdk_abc");
  });

  it("reads process.env when no source is given", () => {
    // Prepare
    const previous = process.env.INFERENCEKEY_BASE_URL;
    process.env.INFERENCEKEY_BASE_URL = "http://from-process-env:1";

    // Act
    const env = readEnvironment();

    // Assess
    try {
      expect(env.baseUrl).toBe("http://from-process-env:1");
    } finally {
      if (previous === undefined) delete process.env.INFERENCEKEY_BASE_URL;
      else process.env.INFERENCEKEY_BASE_URL = previous;
    }
  });
});
