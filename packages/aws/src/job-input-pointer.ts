import { type BlobStore, MAX_JOB_INPUT_BYTES, ValidationError } from "@inferencekey/core";

const POINTER = /^([a-z0-9-]{1,63})\/([a-z0-9-]{1,63})\/file_[0-9A-Za-z]{24}$/;

/**
 * Reads a direct producer's `input_pointer`: the key of an object in the deployment's blob store,
 * `{project}/{workload}/file_{24 letters or digits}`, holding the input's JSON (for inputs that would
 * put the message over SQS's 1 MiB). The key must name the signed message's own project and
 * workload, so a producer can never have another workload's stored input or result run as its job.
 * A malformed, foreign, missing or unreadable pointer is a validation error: the message is refused,
 * not retried.
 */
export function blobInputPointerLoader(blobs: BlobStore, now: () => Date) {
  return async (pointer: string, owner: { project: string; workload: string }): Promise<unknown> => {
    const match = POINTER.exec(pointer);
    const refuse = (message: string, expected: string) =>
      new ValidationError("The message's input_pointer was refused.", [{ path: "input_pointer", message, received: pointer.slice(0, 200), expected }]);
    if (match === null) throw refuse("input_pointer is not a blob key", "{project}/{workload}/file_{24 letters or digits}");
    if (match[1] !== owner.project || match[2] !== owner.workload) {
      throw refuse("input_pointer names another workload's object", `a key under ${owner.project}/${owner.workload}/`);
    }
    const blob = await blobs.get(pointer, now());
    if (blob === undefined) throw refuse("input_pointer names no stored object (missing or expired)", "an object stored before the message was sent");
    if (blob.data.byteLength > MAX_JOB_INPUT_BYTES) throw refuse(`the stored input is ${blob.data.byteLength} bytes`, `at most ${MAX_JOB_INPUT_BYTES} bytes`);
    try {
      return JSON.parse(Buffer.from(blob.data).toString("utf8"));
    } catch {
      throw refuse("the stored input is not JSON", "the input object as JSON");
    }
  };
}
