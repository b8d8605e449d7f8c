import { describe, expect, it } from "vitest";
import { secretValueOf } from "../src/commands/secrets";
import type { Io } from "../src/client";
import { EXIT } from "../src/errors";
import { run } from "../src/main";

describe("secrets set reads the value from standard input", () => {
  it("drops one trailing line break and nothing else", () => {
    expect(secretValueOf("hf_abc\n")).toBe("hf_abc");
    expect(secretValueOf("hf_abc\r\n")).toBe("hf_abc");
    expect(secretValueOf(" two words \n\n")).toBe(" two words \n");
    expect(secretValueOf("no-newline")).toBe("no-newline");
  });

  it("refuses an empty value before calling the platform, naming the secret and how to pass it", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = { interactive: false, out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: { INFERENCEKEY_SDK_TOKEN: "ik_sdk_testtoken000000000000000000000", INFERENCEKEY_BASE_URL: "http://127.0.0.1:1", INFERENCEKEY_PROJECT: "acme" } };

    const code = await run(["secrets", "set", "HF_TOKEN"], io, () => "\n");

    expect(code).toBe(EXIT.invalidInput);
    expect(err.join("")).toMatch(/reads the value of HF_TOKEN on standard input/);
  });
});
