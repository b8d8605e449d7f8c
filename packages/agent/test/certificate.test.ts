import { X509Certificate } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSelfSignedCertificate, FRONT_CERT_FILE, FRONT_KEY_FILE, loadOrCreateFrontCertificate } from "../src";

const NOW = new Date("2026-06-01T10:00:00Z");
let stateDir: string;

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), "ik-front-cert-"));
});

afterEach(() => {
  rmSync(stateDir, { recursive: true, force: true });
});

describe("front certificate", () => {
  it("is a self-signed X.509 v3 certificate whose sha256 is the DER fingerprint", () => {
    // Act
    const created = createSelfSignedCertificate("inferencekey replica front box-1", NOW);
    const parsed = new X509Certificate(created.certPem);

    // Assess
    expect(parsed.subject).toBe("CN=inferencekey replica front box-1");
    expect(parsed.issuer).toBe(parsed.subject);
    expect(parsed.verify(parsed.publicKey)).toBe(true);
    expect(parsed.ca).toBe(false);
    expect(parsed.publicKey.asymmetricKeyType).toBe("ec");
    expect(new Date(parsed.validFrom).getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(created.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(created.sha256).toBe(parsed.fingerprint256.replaceAll(":", "").toLowerCase());
  });

  it("is created once per state directory, kept there with the key mode 0600, and the same on the next load", async () => {
    // Act
    const first = await loadOrCreateFrontCertificate(stateDir, { commonName: "x", now: NOW });
    const second = await loadOrCreateFrontCertificate(stateDir, { commonName: "x", now: NOW });

    // Assess
    expect(second.sha256).toBe(first.sha256);
    expect(statSync(join(stateDir, FRONT_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(stateDir, FRONT_CERT_FILE), "utf8")).toBe(first.certPem);
  });

  it("makes a key found readable by others private again", async () => {
    // Prepare
    const first = await loadOrCreateFrontCertificate(stateDir, { commonName: "x", now: NOW });
    chmodSync(join(stateDir, FRONT_KEY_FILE), 0o644);
    const logs: string[] = [];

    // Act
    const again = await loadOrCreateFrontCertificate(stateDir, { commonName: "x", now: NOW, log: (line) => logs.push(line) });

    // Assess
    expect(again.sha256).toBe(first.sha256);
    expect(statSync(join(stateDir, FRONT_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(logs.join("\n")).toContain("0600");
  });

  it("refuses a certificate that does not belong to the key next to it", async () => {
    // Prepare
    await loadOrCreateFrontCertificate(stateDir, { commonName: "x", now: NOW });
    writeFileSync(join(stateDir, FRONT_CERT_FILE), createSelfSignedCertificate("other", NOW).certPem);

    // Act / Assess
    await expect(loadOrCreateFrontCertificate(stateDir, { commonName: "x", now: NOW })).rejects.toThrow(/does not belong/);
  });
});
