import { InferenceKeyError } from "../errors";
import { hasPrefix, newId } from "../ids";

/** Reuses a caller's `x-request-id` when it looks like ours, so SDK logs and server logs join up. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get("x-request-id");
  return given !== null && hasPrefix(given, "req") ? given : newId("req");
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/**
 * The one place control-API errors become HTTP: `{"error": {code, message, request_id, details}}`.
 * Anything that is not an InferenceKeyError is a 500 whose message reveals nothing internal.
 */
export function errorResponse(error: unknown, requestId: string, log: (line: string) => void = console.error): Response {
  if (error instanceof InferenceKeyError) {
    const headers: Record<string, string> = { "x-request-id": requestId };
    if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(Math.ceil(error.retryAfterSeconds));
    // The unread rest of an oversized body would be taken for the next request on a kept-alive connection.
    if (error.status === 413) headers.connection = "close";
    return json(
      { error: { code: error.code, message: error.message, request_id: requestId, details: error.details } },
      error.status,
      headers,
    );
  }
  log(`[${requestId}] unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return json(
    { error: { code: "internal", message: "Internal error; quote the request id when reporting it.", request_id: requestId, details: [] } },
    500,
    { "x-request-id": requestId },
  );
}
