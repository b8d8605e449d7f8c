import https from "node:https";
import type { TLSSocket } from "node:tls";

export interface FrontAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The certificate the front presented, as 64 lowercase hex characters. */
  certificateSha256: string;
}

/**
 * One request to a replica front over TLS, the way the gateway sends it (self-signed certificate,
 * so no CA check; the caller compares `certificateSha256`).
 */
export function frontRequest(
  port: number,
  path: string,
  options: { authorization?: string; method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<FrontAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        rejectUnauthorized: false,
        agent: false,
        headers: {
          ...options.headers,
          ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
        },
      },
      (response) => {
        const certificate = (response.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("error", reject);
        response.once("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            certificateSha256: certificate.fingerprint256.replaceAll(":", "").toLowerCase(),
          }),
        );
      },
    );
    request.once("error", reject);
    request.end(options.body);
  });
}
