import type { Writable } from "node:stream";

/**
 * After a `write` returned false: resolves once the stream drains, or once it closes (a peer that
 * went away never drains). Both listeners are removed either way, so long transfers add none.
 */
export function drained(stream: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.once("drain", done);
    stream.once("close", done);
  });
}
