import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";

/** The SHA-256 of the replica front certificate an agent keeps in its state directory. */
export function frontCertificateSha256(agentStateDir: string): string {
  const pem = readFileSync(join(agentStateDir, "front-cert.pem"), "utf8");
  return new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
}

/**
 * GET through a replica's front, as the gateway reaches it: TLS, the replica secret as bearer, and
 * only the pinned certificate accepted (a different one rejects). Answers the status.
 */
export function frontGet(port: number, path: string, secret: string, pinnedSha256: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      { host: "127.0.0.1", port, path, rejectUnauthorized: false, agent: false, headers: { authorization: `Bearer ${secret}` } },
      (response) => {
        response.resume();
        response.once("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.once("socket", (socket) =>
      socket.once("secureConnect", () => {
        const presented = (socket as TLSSocket).getPeerCertificate().fingerprint256.replaceAll(":", "").toLowerCase();
        if (presented !== pinnedSha256) request.destroy(new Error(`the front presented ${presented}, not ${pinnedSha256}`));
      }),
    );
    request.once("error", reject);
  });
}
