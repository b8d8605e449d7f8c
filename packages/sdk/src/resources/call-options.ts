import type { IdempotentCallOptions } from "../http/http-client";

type TransportKey = keyof IdempotentCallOptions;

/** The fields of an options object that go into the request body (everything but transport options). */
export function bodyOf<T extends IdempotentCallOptions>(options: T): Omit<T, TransportKey> {
  const {
    signal: _signal,
    timeoutMs: _timeoutMs,
    maxRetries: _maxRetries,
    idempotencyKey: _idempotencyKey,
    ...body
  } = options;
  return body;
}

/** A date as the wire takes it (ISO 8601); strings pass as they are. */
export function isoOf(value: string | Date | undefined): string | undefined {
  return value instanceof Date ? value.toISOString() : value;
}

/** The transport options of an options object, and nothing else. */
export function callOf(options: IdempotentCallOptions | undefined): IdempotentCallOptions {
  return {
    signal: options?.signal,
    timeoutMs: options?.timeoutMs,
    maxRetries: options?.maxRetries,
    idempotencyKey: options?.idempotencyKey,
  };
}
