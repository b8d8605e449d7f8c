import { availableParallelism, hostname, networkInterfaces, totalmem } from "node:os";
import type { Gpu, HostInfo } from "@inferencekey/core";

export const AGENT_VERSION = "0.1.0";

/** The first non-loopback IPv4 address, else loopback: where the platform most likely reaches this box. */
export function defaultAdvertiseHost(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return "127.0.0.1";
}

export function describeHost(advertiseHost: string, gpus: Gpu[]): HostInfo {
  return {
    hostname: hostname().slice(0, 255) || "unknown",
    advertise_host: advertiseHost,
    gpus,
    cpu_count: availableParallelism(),
    memory_mb: Math.floor(totalmem() / (1024 * 1024)),
    agent_version: AGENT_VERSION,
  };
}
