import type { DataPlaneRequest, DecisionChange, WorkloadEvent } from "@inferencekey/core";

/**
 * What `npm start` prints about workloads: the data plane (a line per request), the controller's
 * decisions with their reasons, and the workloads' events. Every line starts with the workload it
 * is about (`acme/support-bot`). Request lines are bounded: past `requestLinesPerSecond` in one
 * second, the rest of that second is summed into one line per workload.
 */
export interface TerminalOptions {
  write: (line: string) => void;
  /** Request lines printed one by one in a second, over all workloads. Default 20. */
  requestLinesPerSecond?: number;
  /** Wall-clock milliseconds, for the per-second windows (injectable for tests). */
  nowMs?: () => number;
}

/** Requests of one workload summed within a second. */
export interface RequestSummary {
  requests: number;
  statuses: Map<number, number>;
  latencyMsSum: number;
  latencyMsMax: number;
  keyIds: Set<string>;
}

const workloadOf = (project: string, workload: string) => `${project}/${workload}`;

/** `acme/support-bot  POST /v1/chat/completions 200 12 ms key_abc` (the key id, never the key). */
export function formatRequestLine(request: DataPlaneRequest): string {
  const key = request.keyId ?? "key refused";
  return `${workloadOf(request.project, request.workload)}  ${request.method} /v1/${request.route} ${request.status} ${Math.round(request.latencyMs)} ms ${key}`;
}

/** `acme/support-bot  +180 more requests this second: 200 x178, 503 x2; 12 ms avg, 95 ms max; 3 keys` */
export function formatSummaryLine(project: string, workload: string, summary: RequestSummary): string {
  const statuses = [...summary.statuses]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status} x${count}`)
    .join(", ");
  const keys = summary.keyIds.size === 1 ? "1 key" : `${summary.keyIds.size} keys`;
  return (
    `${workloadOf(project, workload)}  +${summary.requests} more request${summary.requests === 1 ? "" : "s"} this second: ${statuses}; ` +
    `${Math.round(summary.latencyMsSum / summary.requests)} ms avg, ${Math.round(summary.latencyMsMax)} ms max; ${keys}`
  );
}

/** `acme/support-bot  controller: wants 1 replica (was 0): scaling 0 -> 1: a request arrived with no replica ready` */
export function formatDecisionLine(change: DecisionChange): string {
  const where = workloadOf(change.project, change.workload);
  if (change.previousDesired === change.desired) return `${where}  controller: ${change.decision}`;
  const wants = `wants ${change.desired} replica${change.desired === 1 ? "" : "s"}`;
  const was = change.previousDesired === undefined ? "" : ` (was ${change.previousDesired})`;
  return `${where}  controller: ${wants}${was}: ${change.decision}`;
}

/** `acme/support-bot  replica rep_... (slot 0, generation 1) is ready` */
export function formatEventLine(project: string, workload: string, event: WorkloadEvent): string {
  return `${workloadOf(project, workload)}  ${event.message}`;
}

/**
 * A decision's wording without its numbers ("holding 2: idle for # s, ..."): the texts that count
 * seconds change every tick, and are printed again only when the wording or the count wanted does.
 */
function wording(decision: string): string {
  return decision.replace(/\d+(\.\d+)?/g, "#");
}

export class Terminal {
  private readonly limit: number;
  private readonly nowMs: () => number;
  private second = -1;
  private printedThisSecond = 0;
  private readonly summaries = new Map<string, { project: string; workload: string; summary: RequestSummary }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly lastWording = new Map<string, string>();

  constructor(private readonly options: TerminalOptions) {
    this.limit = options.requestLinesPerSecond ?? 20;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** A data-plane request was answered. */
  request(request: DataPlaneRequest): void {
    const second = Math.floor(this.nowMs() / 1000);
    if (second !== this.second) {
      this.flush();
      this.second = second;
      this.printedThisSecond = 0;
    }
    if (this.printedThisSecond < this.limit) {
      this.printedThisSecond++;
      this.options.write(formatRequestLine(request));
      return;
    }
    const id = workloadOf(request.project, request.workload);
    let entry = this.summaries.get(id);
    if (entry === undefined) {
      entry = {
        project: request.project,
        workload: request.workload,
        summary: { requests: 0, statuses: new Map(), latencyMsSum: 0, latencyMsMax: 0, keyIds: new Set() },
      };
      this.summaries.set(id, entry);
    }
    const summary = entry.summary;
    summary.requests++;
    summary.statuses.set(request.status, (summary.statuses.get(request.status) ?? 0) + 1);
    summary.latencyMsSum += request.latencyMs;
    summary.latencyMsMax = Math.max(summary.latencyMsMax, request.latencyMs);
    if (request.keyId !== undefined) summary.keyIds.add(request.keyId);
    // The summary is printed when the second ends, even if no request follows.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, 1000 - (this.nowMs() % 1000) + 5).unref();
  }

  /** The controller decided something for a workload: printed when the count wanted or the wording changes. */
  decision(change: DecisionChange): void {
    const id = workloadOf(change.project, change.workload);
    const shape = wording(change.decision);
    if (change.previousDesired === change.desired && this.lastWording.get(id) === shape) return;
    this.lastWording.set(id, shape);
    this.options.write(formatDecisionLine(change));
  }

  /** A workload event was recorded. Desired-count changes are the controller's decisions, printed by `decision`. */
  event(project: string, workload: string, event: WorkloadEvent): void {
    if (event.type === "DesiredChanged") return;
    this.options.write(formatEventLine(project, workload, event));
  }

  /** Prints the summaries of the requests not listed one by one. */
  flush(): void {
    for (const { project, workload, summary } of this.summaries.values()) this.options.write(formatSummaryLine(project, workload, summary));
    this.summaries.clear();
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
