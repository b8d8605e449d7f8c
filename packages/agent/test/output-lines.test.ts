import { describe, expect, it } from "vitest";
import { OutputLines, redact } from "../src";

describe("OutputLines", () => {
  it("splits chunks into lines, keeps the last N and redacts a secret split across chunks", () => {
    // Prepare
    const seen: string[] = [];
    const lines = new OutputLines(2, ["ik_rep_topsecret"], (line) => seen.push(line));
    // Act
    lines.push("one\ntwo\nkey=ik_rep_top");
    lines.push("secret\r\nfour");
    lines.flush();
    // Assess
    expect(seen).toEqual(["one", "two", "key=[redacted]", "four"]);
    expect(lines.lines()).toEqual(["key=[redacted]", "four"]);
    expect(lines.last()).toBe("four");
  });

  it("cuts lines at 2000 characters", () => {
    const lines = new OutputLines(5, []);
    lines.push(`${"x".repeat(5000)}\n`);
    expect(lines.lines()[0]).toHaveLength(2000);
  });

  it("redact ignores empty and tiny secrets", () => {
    expect(redact("abc", ["", "b"])).toBe("abc");
  });
});
