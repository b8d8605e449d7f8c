import type { deregisterWorker, getWorker, registerWorker } from "@inferencekey/core";
import { type CamelKeys, camelKeys, type Simplify, snakeKeys } from "../casing";
import type { CallOptions, HttpClient, IdempotentCallOptions } from "../http/http-client";
import { bodyOf, callOf } from "./call-options";
import { pathOf } from "./paths";

type WireWorker = Awaited<ReturnType<typeof getWorker>>;
type WireWorkerRecord = Awaited<ReturnType<typeof deregisterWorker>>;

/**
 * A private worker (your own GPU box running the agent) as `workers.list()` and `workers.get()`
 * return it: `{ id, project, name, labels, state, createdAt, tokenPrefix, tokenLast4,
 * lastHeartbeatAt?, host?, status, gpus, replicas }`. `status` is `online` while the agent
 * heartbeats. `labels` (your own map) and `host` / `gpus` (as the agent reports them) keep their
 * wire keys.
 *
 * @example
 * ```ts
 * for (const worker of await mgmt.workers.list()) console.log(worker.id, worker.name, worker.status, worker.gpus.length);
 * ```
 */
export type Worker = Simplify<CamelKeys<WireWorker>>;

/**
 * A worker's stored record, without the live `status`, `gpus` and `replicas` of {@link Worker}:
 * what `workers.deregister()` returns (in state `draining`).
 *
 * @example
 * ```ts
 * const gone: WorkerRecord = await mgmt.workers.deregister("wrk_7Yc2abcd");
 * console.log(gone.state); // "draining"
 * ```
 */
export type WorkerRecord = Simplify<CamelKeys<WireWorkerRecord>>;

/**
 * A newly registered worker: the {@link WorkerRecord} fields plus `token`, the plaintext
 * `ik_wrk_...` agent token, shown only this once.
 *
 * @example
 * ```ts
 * const { id, token }: RegisteredWorker = await mgmt.workers.register({ name: "gpu-box-1" });
 * ```
 */
export type RegisteredWorker = Simplify<
  CamelKeys<Awaited<ReturnType<typeof registerWorker>>["worker"]> & { token: string }
>;

/**
 * Options of `workers.register`: a `name`, optional `labels`, optional `addresses` (IP addresses or
 * CIDR ranges: the only ones the gateway dials for this worker) and an optional `idempotencyKey`.
 *
 * @example
 * ```ts
 * const options: RegisterWorkerOptions = { name: "gpu-box-1", labels: { rack: "b2" }, addresses: ["10.0.0.0/24"] };
 * ```
 */
export type RegisterWorkerOptions = Simplify<
  CamelKeys<Parameters<typeof registerWorker>[3]> & IdempotentCallOptions
>;

/**
 * Private workers of the client's project. Reach it as `mgmt.workers`.
 *
 * @example
 * ```ts
 * const { id, token } = await mgmt.workers.register({ name: "gpu-box-1", labels: { gpu: "a100" } });
 * // start the agent on the box with `token`, then pin workloads to it with `workerId: id`
 * ```
 */
export class WorkersResource {
  constructor(
    private readonly http: HttpClient,
    private readonly project: string,
  ) {}

  /**
   * Registers a worker and returns its `id` and agent `token` (shown only this once). Without
   * `idempotencyKey` it is retried only when refused before processing (429, no connection).
   *
   * @example
   * ```ts
   * const worker = await mgmt.workers.register({ name: "gpu-box-1", idempotencyKey: "register-gpu-box-1" });
   * console.log(worker.id, worker.token);
   * ```
   */
  async register(options: RegisterWorkerOptions): Promise<RegisteredWorker> {
    const worker = await this.http.json<
      Awaited<ReturnType<typeof registerWorker>>["worker"] & { token: string }
    >({
      method: "POST",
      path: pathOf`/v1/projects/${this.project}/workers`,
      body: snakeKeys(bodyOf(options)),
      ...callOf(options),
    });
    return camelKeys(worker);
  }

  /**
   * Lists the project's workers.
   *
   * @example
   * ```ts
   * const ids = (await mgmt.workers.list()).map((w) => w.id);
   * ```
   */
  async list(options?: CallOptions): Promise<Worker[]> {
    const page = await this.http.json<{ data: WireWorker[] }>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workers`,
      ...callOf(options),
    });
    return page.data.map((worker) => camelKeys(worker));
  }

  /**
   * Reads one worker.
   *
   * @example
   * ```ts
   * const worker = await mgmt.workers.get("wrk_7Yc2abcd");
   * console.log(worker.lastHeartbeatAt);
   * ```
   */
  async get(workerId: string, options?: CallOptions): Promise<Worker> {
    const worker = await this.http.json<WireWorker>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workers/${workerId}`,
      ...callOf(options),
    });
    return camelKeys(worker);
  }

  /**
   * Deregisters a worker: its token stops working at once and its replicas move elsewhere.
   * Returns the worker as it was, in state `draining`.
   *
   * @example
   * ```ts
   * await mgmt.workers.deregister("wrk_7Yc2abcd");
   * ```
   */
  async deregister(workerId: string, options?: CallOptions): Promise<WorkerRecord> {
    const worker = await this.http.json<WireWorkerRecord>({
      method: "DELETE",
      path: pathOf`/v1/projects/${this.project}/workers/${workerId}`,
      ...callOf(options),
    });
    return camelKeys(worker);
  }
}
