import { createHmac, timingSafeEqual } from "node:crypto";

/** The message signed for a file URL: domain-separated so it can never equal another HMAC use. */
function message(project: string, workload: string, fileId: string, expires: number): string {
  return `gateway-file\n${project}\n${workload}\n${fileId}\n${expires}`;
}

export function signFile(serverSecret: string, project: string, workload: string, fileId: string, expires: number): string {
  return createHmac("sha256", serverSecret).update(message(project, workload, fileId, expires)).digest("base64url");
}

export function verifyFileSignature(
  serverSecret: string,
  project: string,
  workload: string,
  fileId: string,
  expires: number,
  signature: string,
): boolean {
  const expected = Buffer.from(signFile(serverSecret, project, workload, fileId, expires));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `{base}/endpoint/{project}/{workload}/v1/files/{id}?expires={unix seconds}&sig={hmac}`. */
export function fileUrl(
  base: string,
  serverSecret: string,
  project: string,
  workload: string,
  fileId: string,
  expires: number,
): string {
  const sig = signFile(serverSecret, project, workload, fileId, expires);
  return `${base}/endpoint/${project}/${workload}/v1/files/${fileId}?expires=${expires}&sig=${sig}`;
}
