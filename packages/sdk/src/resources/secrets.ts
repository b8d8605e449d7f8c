import type { ProjectSecretInfo } from "@inferencekey/core";
import { type CamelKeys, camelKeys, type Simplify } from "../casing";
import type { CallOptions, HttpClient } from "../http/http-client";
import { callOf } from "./call-options";
import { pathOf } from "./paths";

/**
 * A project secret as `secrets.list()` and `secrets.set()` return it: `{ name, createdAt,
 * updatedAt }`. The value is never returned once set.
 *
 * @example
 * ```ts
 * for (const secret of await mgmt.secrets.list()) console.log(secret.name, secret.updatedAt);
 * ```
 */
export type ProjectSecret = Simplify<CamelKeys<ProjectSecretInfo>>;

/**
 * Secrets of the client's project: environment variables (such as `HF_TOKEN` for gated models)
 * the platform puts in the environment of every backend of the project, encrypted at rest and
 * never returned. Names are environment variable names (`[A-Z_][A-Z0-9_]{0,127}`), except
 * `INFERENCEKEY_*`, `LD_*` and the names the agent sets (`PATH`, `HOME`, `PORT`, `HOST`,
 * `CUDA_VISIBLE_DEVICES`...); values are at most 16 KiB. Needs a token scoped to the project or
 * the organisation admin token. A replica started before a change keeps the old value until it
 * next starts. Reach it as `mgmt.secrets`.
 *
 * @example
 * ```ts
 * await mgmt.secrets.set("HF_TOKEN", process.env.HF_TOKEN ?? "");
 * console.log((await mgmt.secrets.list()).map((s) => s.name)); // ["HF_TOKEN"]
 * await mgmt.secrets.delete("HF_TOKEN");
 * ```
 */
export class SecretsResource {
  constructor(
    private readonly http: HttpClient,
    private readonly project: string,
  ) {}

  /**
   * Creates or replaces a secret. Returns its name and times, not the value. Safe to retry: setting
   * the same value twice leaves the same secret.
   *
   * @example
   * ```ts
   * const secret = await mgmt.secrets.set("HF_TOKEN", "hf_...");
   * console.log(secret.updatedAt);
   * ```
   */
  async set(name: string, value: string, options?: CallOptions): Promise<ProjectSecret> {
    const secret = await this.http.json<ProjectSecretInfo>({
      method: "PUT",
      path: pathOf`/v1/projects/${this.project}/secrets/${name}`,
      body: { value },
      ...callOf(options),
    });
    return camelKeys(secret);
  }

  /**
   * Lists the project's secrets: names and times only.
   *
   * @example
   * ```ts
   * const names = (await mgmt.secrets.list()).map((s) => s.name);
   * ```
   */
  async list(options?: CallOptions): Promise<ProjectSecret[]> {
    const page = await this.http.json<{ data: ProjectSecretInfo[] }>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/secrets`,
      ...callOf(options),
    });
    return page.data.map((secret) => camelKeys(secret));
  }

  /**
   * Deletes a secret (a `NotFoundError` when the project has none of that name). Backends started
   * before keep it until they next start.
   *
   * @example
   * ```ts
   * await mgmt.secrets.delete("HF_TOKEN");
   * ```
   */
  async delete(name: string, options?: CallOptions): Promise<{ name: string; deleted: true }> {
    return this.http.json<{ name: string; deleted: true }>({
      method: "DELETE",
      path: pathOf`/v1/projects/${this.project}/secrets/${name}`,
      ...callOf(options),
    });
  }
}
