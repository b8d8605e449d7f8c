import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeSecretProblem, digestSecret, generateSecret, isWellFormedSecret, redactSecrets, secretHint, secretProblem } from "../../src";

describe("secrets", () => {
  it("generated secrets are well formed, with at least 128 random bits", () => {
    const secret = generateSecret("live");
    expect(secret).toMatch(/^ik_live_[0-9A-Za-z]{30}$/);
    // 24 base62 characters carry 24 * log2(62) bits.
    expect(24 * Math.log2(62)).toBeGreaterThan(128);
    expect(isWellFormedSecret("live", secret)).toBe(true);
    expect(isWellFormedSecret("sdk", secret)).toBe(false);
  });

  it("any single-character change breaks the checksum or the shape", () => {
    const secret = generateSecret("sdk");
    fc.assert(
      fc.property(fc.integer({ min: 7, max: secret.length - 1 }), fc.constantFrom(..."0123456789abcdefXYZ"), (index, char) => {
        fc.pre(secret[index] !== char);
        const mutated = secret.slice(0, index) + char + secret.slice(index + 1);
        return !isWellFormedSecret("sdk", mutated);
      }),
    );
  });

  it("never accepts arbitrary strings as secrets and never throws", () => {
    fc.assert(fc.property(fc.string(), (text) => isWellFormedSecret("live", `ik_live_${text}`) === false || text.length === 30));
  });

  it("digests are keyed: another server secret gives another digest", () => {
    const secret = generateSecret("live");
    expect(digestSecret("a", secret)).not.toBe(digestSecret("b", secret));
    expect(digestSecret("a", secret)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the hint shows the prefix and the last 4 characters only", () => {
    const secret = generateSecret("live");
    expect(secretHint(secret)).toEqual({ prefix: "ik_live_", last4: secret.slice(-4) });
  });

  it("names what is wrong with a malformed secret, in that order, without quoting it", () => {
    // Prepare
    const secret = generateSecret("sdk");
    const last = secret.at(-1) === "A" ? "B" : "A";
    const badChecksum = `${secret.slice(0, -1)}${last}`;

    // Act + Assess
    expect(secretProblem("sdk", secret)).toBeUndefined();
    expect(secretProblem("sdk", `ik_live_${secret.slice(7)}`)).toBe("wrong_prefix");
    expect(secretProblem("sdk", secret.slice(0, -2))).toBe("wrong_length");
    expect(secretProblem("sdk", `${secret.slice(0, -1)}"`)).toBe("bad_characters");
    expect(secretProblem("sdk", badChecksum)).toBe("bad_checksum");
    const said = describeSecretProblem("sdk", badChecksum);
    expect(said).toMatch(/^its checksum does not match/);
    expect(said).not.toContain(badChecksum.slice(7));
    expect(describeSecretProblem("sdk", secret.slice(0, -2))).toMatch(/^it is 35 characters long, not 37 \(ik_sdk_ followed by 30 letters and digits\)/);
  });
});

describe("issue 11.5: redactSecrets", () => {
  it("hides the four credential shapes (whole or cut) and the exact server secret, and nothing else", () => {
    // Prepare
    const serverSecret = "0123456789abcdef0123456789abcdef";
    const text = [
      generateSecret("sdk"),
      generateSecret("live"),
      generateSecret("worker"),
      "ik_rep_AbC-_dEf012345678901234567890123",
      "cut ik_sdk_abc",
      `secret=${serverSecret}.`,
      "model meta-llama/Llama-3.1-8B ik_other_kept",
    ].join("\n");

    // Act
    const redacted = redactSecrets(text, serverSecret);

    // Assess
    expect(redacted).toBe(
      ["[redacted]", "[redacted]", "[redacted]", "[redacted]", "cut [redacted]", "secret=[redacted].", "model meta-llama/Llama-3.1-8B ik_other_kept"].join("\n"),
    );
  });
});

describe("redactSecrets: the jobs' signing secrets", () => {
  it("hides whsec_ and iksp_ secrets (base64, whole or cut) and keeps other words", () => {
    // Act
    const redacted = redactSecrets("webhook whsec_Ab+/cD09ef== producer iksp_Q0xJ cut whsec_ ok whsecret_kept");

    // Assess
    expect(redacted).toBe("webhook [redacted] producer [redacted] cut [redacted] ok whsecret_kept");
  });
});
