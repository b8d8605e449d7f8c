import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The front's key and certificate inside the agent's state directory. */
export const FRONT_KEY_FILE = "front-key.pem";
export const FRONT_CERT_FILE = "front-cert.pem";

/** The certificate the replica front serves, and the fingerprint the gateway pins. */
export interface FrontCertificate {
  keyPem: string;
  certPem: string;
  /** SHA-256 of the certificate's DER, lowercase hex without separators (64 characters). */
  sha256: string;
}

/** `AB:CD:...` (node's `fingerprint256`) or any hex spelling, as 64 lowercase hex characters. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(":", "").toLowerCase();
}

// DER, just enough of it for one fixed certificate shape (X.690): definite lengths, universal tags.
function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, content]);
}
const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const explicit = (tagNumber: number, content: Buffer) => der(0xa0 + tagNumber, content);
const utf8 = (text: string) => der(0x0c, Buffer.from(text, "utf8"));
const bitString = (bytes: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), bytes]));
const octetString = (bytes: Buffer) => der(0x04, bytes);
const boolean = (value: boolean) => der(0x01, Buffer.from([value ? 0xff : 0]));

function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return der(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const bytes = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const part of parts.slice(2)) {
    const groups = [part & 0x7f];
    for (let rest = part >> 7; rest > 0; rest >>= 7) groups.unshift((rest & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime for years 1950-2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(digits.slice(2))) : der(0x18, Buffer.from(digits));
}

const ECDSA_WITH_SHA256 = sequence(oid("1.2.840.10045.4.3.2"));
const COMMON_NAME = "2.5.4.3";
const BASIC_CONSTRAINTS = "2.5.29.19";
/** RFC 5280 "no well-defined expiration date": the gateway pins this exact certificate, so no expiry applies. */
const NO_EXPIRY = der(0x18, Buffer.from("99991231235959Z"));

/**
 * A self-signed X.509 v3 certificate over an ECDSA P-256 key, built with node:crypto alone (it signs
 * but cannot build certificates; a DER writer for this one shape is smaller than any dependency).
 * The name is informational: trust comes from the gateway pinning the SHA-256 of the certificate.
 */
export function createSelfSignedCertificate(commonName: string, now: Date): FrontCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8(commonName.slice(0, 64)))));
  const notBefore = new Date(now.getTime() - 60 * 60_000);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(time(notBefore), NO_EXPIRY),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence())))),
  );
  const signature = sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" });
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(signature));
  const base64 = certificate.toString("base64").replace(/.{1,64}/g, "$&\n");
  const certPem = `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return { keyPem, certPem, sha256: normalizeFingerprint(new X509Certificate(certPem).fingerprint256) };
}

/** The pair on disk, if both files are there, parse, and belong together. */
async function readPair(keyPath: string, certPath: string): Promise<FrontCertificate | undefined> {
  let keyPem: string;
  let certPem: string;
  try {
    [keyPem, certPem] = await Promise.all([readFile(keyPath, "utf8"), readFile(certPath, "utf8")]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const certificate = new X509Certificate(certPem);
  const certKey = certificate.publicKey.export({ type: "spki", format: "der" });
  const ownKey = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  if (!certKey.equals(ownKey)) throw new Error(`${certPath} does not belong to the key in ${keyPath}`);
  return { keyPem, certPem, sha256: normalizeFingerprint(certificate.fingerprint256) };
}

/**
 * The worker's front certificate: created once per state directory and kept there (key mode 0600),
 * so the fingerprint the gateway pins survives agent restarts. A key found readable by others is
 * made private again.
 */
export async function loadOrCreateFrontCertificate(
  stateDir: string,
  options: { commonName: string; now: Date; log?: (line: string) => void },
): Promise<FrontCertificate> {
  const keyPath = join(stateDir, FRONT_KEY_FILE);
  const certPath = join(stateDir, FRONT_CERT_FILE);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const existing = await readPair(keyPath, certPath);
  if (existing !== undefined) {
    if (((await stat(keyPath)).mode & 0o077) !== 0) {
      await chmod(keyPath, 0o600);
      options.log?.(`${keyPath} was readable by other users; set it to 0600`);
    }
    return existing;
  }
  const created = createSelfSignedCertificate(options.commonName, options.now);
  // The certificate is written last: a crash in between leaves a key without a certificate, replaced next time.
  await writeFile(keyPath, created.keyPem, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, created.certPem, { mode: 0o644 });
  options.log?.(`created the replica front certificate ${certPath} (sha256 ${created.sha256})`);
  return created;
}
