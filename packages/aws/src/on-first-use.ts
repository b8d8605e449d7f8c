import type {
  BlobStore,
  EventPublisher,
  JobQueue,
  LifecycleEvent,
  QueueMessage,
  StoredBlob,
} from "@inferencekey/core";

/**
 * Adapters whose module (and AWS SDK client) is loaded on first use, not when a Lambda bundle
 * loads: an entry that needs the job queue, the event bus or a bucket only on some requests does
 * not pay their clients' load at every cold start (docs/benchmarks.md, "Lambda bundle load"). The
 * bundles are split (`LAMBDA_BUNDLE.splitting`), so `import()` here is a chunk loaded then. A
 * failed load is tried again by the next call.
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

/** A job queue built on its first `send`. */
export class JobQueueOnFirstUse implements JobQueue {
  constructor(private readonly queue: () => Promise<JobQueue>) {}

  async send(message: QueueMessage, options?: { delaySeconds?: number }): Promise<void> {
    return (await this.queue()).send(message, options);
  }
}

/** An event publisher built on its first `publish`. */
export class EventPublisherOnFirstUse implements EventPublisher {
  constructor(private readonly publisher: () => Promise<EventPublisher>) {}

  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    if (events.length === 0) return;
    return (await this.publisher()).publish(events);
  }
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
