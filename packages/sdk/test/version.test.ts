import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SDK_VERSION, USER_AGENT } from "../src/version";

describe("version", () => {
  it("equals the package version and names the SDK in the User-Agent", () => {
    // Prepare
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };

    // Act
    const agent = USER_AGENT;

    // Assess
    expect(SDK_VERSION).toBe(pkg.version);
    expect(agent).toBe(`inferencekey-sdk-ts/${pkg.version}`);
  });
});
