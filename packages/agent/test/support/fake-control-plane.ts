import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Assignment, generateSecret, type ReplicaReport } from "@inferencekey/core";

export interface ReceivedHeartbeat {
  at: number;
  authorization: string | undefined;
  body: { host: Record<string, unknown>; replicas: ReplicaReport[] };
}

/** The agent API's heartbeat route, in memory: answers the assignments a test sets. */
export class FakeControlPlane {
  assignments: Assignment[] = [];
  readonly heartbeats: ReceivedHeartbeat[] = [];
  /** The token it accepts; anything else is a 401, as for a deregistered worker. */
  token = generateSecret("worker");
  intervalSeconds = 0.1;
  private server: Server;
  private port = 0;

  private constructor() {
    this.server = this.createServer();
  }

  static async start(): Promise<FakeControlPlane> {
    const plane = new FakeControlPlane();
    await plane.listen();
    return plane;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The control plane becomes unreachable (connection refused). */
  async down(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Back on the same port. */
  async up(): Promise<void> {
    this.server = this.createServer();
    await this.listen();
  }

  close(): Promise<void> {
    return this.down().catch(() => {});
  }

  lastReport(replicaId: string): ReplicaReport | undefined {
    for (let i = this.heartbeats.length - 1; i >= 0; i--) {
      const report = this.heartbeats[i]?.body.replicas.find((r) => r.replica_id === replicaId);
      if (report !== undefined) return report;
    }
    return undefined;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.port, "127.0.0.1", () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private createServer(): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        };
        if (req.method !== "POST" || req.url !== "/agent/v1/heartbeat")
          return send(404, { error: { message: "no route" } });
        if (req.headers.authorization !== `Bearer ${this.token}`) {
          return send(401, {
            error: {
              code: "unauthorized",
              message: "The worker was deregistered; its token no longer works.",
            },
          });
        }
        this.heartbeats.push({
          at: Date.now(),
          authorization: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        });
        send(200, {
          worker_id: "wrk_test0001",
          project: "acme",
          assignments: this.assignments,
          heartbeat_interval_seconds: this.intervalSeconds,
        });
      });
    });
  }
}
