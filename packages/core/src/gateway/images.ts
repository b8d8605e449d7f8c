import { randomBase62 } from "../ids";
import type { BlobStore } from "./blob-store";
import { fileUrl } from "./signed-url";

/** What the client asked for: OpenAI's images routes answer `url` unless `response_format` is `b64_json`. */
export type ImageFormat = "url" | "b64_json";

export function imageFormatOf(value: unknown): ImageFormat {
  return value === "b64_json" ? "b64_json" : "url";
}

/**
 * Finds one form field's value in a multipart body while it streams past (images/edits carries
 * `response_format` as a form field). Holds at most a few KiB, never the body.
 */
export class MultipartFieldSniffer {
  private readonly marker: Buffer;
  private window: Buffer = Buffer.alloc(0);
  private done = false;
  value: string | undefined;

  constructor(field: string) {
    this.marker = Buffer.from(`name="${field}"`);
  }

  push(chunk: Uint8Array): void {
    if (this.done) return;
    const incoming = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const buffer = this.window.length === 0 ? incoming : Buffer.concat([this.window, incoming]);
    const at = buffer.indexOf(this.marker);
    if (at === -1) {
      this.window = Buffer.from(buffer.subarray(Math.max(0, buffer.length - this.marker.length)));
      return;
    }
    const headerEnd = buffer.indexOf("\r\n\r\n", at);
    const valueEnd = headerEnd === -1 ? -1 : buffer.indexOf("\r\n", headerEnd + 4);
    if (valueEnd === -1) {
      if (buffer.length - at > 4096) this.done = true;
      else this.window = Buffer.from(buffer.subarray(at));
      return;
    }
    this.value = buffer.subarray(headerEnd + 4, valueEnd).toString("utf8").trim();
    this.done = true;
    this.window = Buffer.alloc(0);
  }
}

function contentTypeOf(data: Uint8Array): string {
  if (data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) return "image/png";
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return "image/jpeg";
  if (data[0] === 0x47 && data[1] === 0x49 && data[2] === 0x46) return "image/gif";
  if (Buffer.from(data.subarray(0, 4)).toString("latin1") === "RIFF" && Buffer.from(data.subarray(8, 12)).toString("latin1") === "WEBP") {
    return "image/webp";
  }
  return "application/octet-stream";
}

export interface ImageUrlContext {
  blobs: BlobStore | undefined;
  serverSecret: string;
  /** The platform's configured public base URL; undefined gives `data:` URLs (never the request's Host). */
  base: string | undefined;
  project: string;
  workload: string;
  now: Date;
  ttlSeconds: number;
}

/**
 * Turns an images response with `b64_json` items into OpenAI's default `url` form: each image is
 * stored and replaced by a signed URL the gateway serves itself. Without a blob store the URL is a
 * `data:` URL (still fetchable by clients), the fallback until AWS object storage exists.
 */
export async function imagesToUrls(body: Record<string, unknown>, ctx: ImageUrlContext): Promise<Record<string, unknown>> {
  const data = body.data;
  if (!Array.isArray(data)) return body;
  const expires = Math.floor(ctx.now.getTime() / 1000) + ctx.ttlSeconds;
  const converted = await Promise.all(
    data.map(async (item: unknown) => {
      if (item === null || typeof item !== "object") return item;
      const { b64_json: b64, ...rest } = item as Record<string, unknown>;
      if (typeof b64 !== "string") return item;
      const bytes = Buffer.from(b64, "base64");
      const contentType = contentTypeOf(bytes);
      if (ctx.blobs === undefined || ctx.base === undefined) return { ...rest, url: `data:${contentType};base64,${b64}` };
      const fileId = `file_${randomBase62(24)}`;
      await ctx.blobs.put(`${ctx.project}/${ctx.workload}/${fileId}`, {
        data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        contentType,
        expiresAt: new Date(expires * 1000),
      });
      return { ...rest, url: fileUrl(ctx.base, ctx.serverSecret, ctx.project, ctx.workload, fileId, expires) };
    }),
  );
  return { ...body, data: converted };
}
