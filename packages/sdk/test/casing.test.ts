import { describe, expect, expectTypeOf, it } from "vitest";
import { type CamelKeys, camelKeys, snakeKeys, toCamelCase, toSnakeCase } from "../src/casing";

describe("casing", () => {
  it("converts wire keys to camelCase and back", () => {
    // Prepare
    const wire = ["rate_limit_per_minute", "token_last4", "old_key_expires_in_seconds", "name"];

    // Act
    const camel = wire.map(toCamelCase);
    const back = camel.map(toSnakeCase);

    // Assess
    expect(camel).toEqual(["rateLimitPerMinute", "tokenLast4", "oldKeyExpiresInSeconds", "name"]);
    expect(back).toEqual(wire);
  });

  it("renames only top-level keys, leaving nested objects as given", () => {
    // Prepare
    const worker = { token_last4: "abcd", labels: { gpu_kind: "a100" }, last_heartbeat_at: undefined };

    // Act
    const converted = camelKeys(worker);

    // Assess
    expect(converted).toEqual({
      tokenLast4: "abcd",
      labels: { gpu_kind: "a100" },
      lastHeartbeatAt: undefined,
    });
    expectTypeOf(converted).toEqualTypeOf<{
      tokenLast4: string;
      labels: { gpu_kind: string };
      lastHeartbeatAt: undefined;
    }>();
  });

  it("snakeKeys drops undefined fields", () => {
    // Prepare
    const options = { rateLimitPerMinute: 60, expiresAt: undefined, name: "backend" };

    // Act
    const body = snakeKeys(options);

    // Assess
    expect(body).toEqual({ rate_limit_per_minute: 60, name: "backend" });
  });

  it("CamelKeys keeps optional properties optional", () => {
    // Prepare
    type Wire = { created_at: string; expires_at?: string };

    // Act
    type Camel = CamelKeys<Wire>;

    // Assess
    expectTypeOf<Camel>().toEqualTypeOf<{ createdAt: string; expiresAt?: string }>();
  });
});
