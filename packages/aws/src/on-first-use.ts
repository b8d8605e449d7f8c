import type { BlobStore, StoredBlob } from "@inferencekey/core";

/**
 * Adapters whose module (and AWS SDK client) is loaded on first use, not when a Lambda bundle
 * loads: an entry that needs a bucket only on some requests (a generated file, a large job input
 * or result) does not pay the S3 client's load at every cold start (docs/benchmarks.md, "Lambda
 * bundle load"). The bundles are split (`LAMBDA_BUNDLE.splitting`), so `import()` here is a chunk
 * loaded then. A failed load is tried again by the next call.
 */
export function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}

/** A blob store built on its first `put` or `get`. */
export class BlobStoreOnFirstUse implements BlobStore {
  constructor(private readonly store: () => Promise<BlobStore>) {}

  async put(key: string, blob: StoredBlob): Promise<void> {
    return (await this.store()).put(key, blob);
  }

  async get(key: string, now: Date): Promise<StoredBlob | undefined> {
    return (await this.store()).get(key, now);
  }
}
