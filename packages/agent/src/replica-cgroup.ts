import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * One cgroup v2 per replica, where the agent may create them: a process cannot leave its cgroup by
 * forking, `setsid` or rewriting its environment, so a stop that kills the cgroup ends everything the
 * backend started. Best effort: without a writable cgroup v2 hierarchy (most containers, non-root
 * agents without delegation) replicas run as before and stops rely on the group and the environment.
 */

/** The directory of this process's own cgroup v2, from /proc/self/cgroup and /proc/self/mountinfo. */
export function ownCgroupDir(): string | undefined {
  let membership: string;
  let mounts: string;
  try {
    membership = readFileSync("/proc/self/cgroup", "utf8");
    mounts = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  const path = membership
    .split("\n")
    .find((line) => line.startsWith("0::"))
    ?.slice(3);
  if (path === undefined) return undefined;
  for (const line of mounts.split("\n")) {
    const [before, after] = line.split(" - ");
    if (after === undefined || !after.startsWith("cgroup2 ")) continue;
    const fields = before?.split(" ") ?? [];
    const [root, mountPoint] = [fields[3], fields[4]];
    if (root === undefined || mountPoint === undefined || !path.startsWith(root)) continue;
    return join(mountPoint, path.slice(root.length));
  }
  return undefined;
}

/** Where a replica's cgroup lives (it may not exist), per agent instance: replica ids repeat across platforms. */
export function replicaCgroupDir(base: string, instance: string, replicaId: string): string {
  return join(base, `ik-${instance}-${replicaId}`.replace(/[^A-Za-z0-9_-]/g, ""));
}

/** Creates the replica's cgroup; false when the hierarchy is not ours to write. */
export function createReplicaCgroup(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The `/bin/sh -c` script that first moves the shell itself into the cgroup, then replaces itself
 * with the command (same pid, same process group): nothing the command starts, not even its first
 * fork, happens outside. Moving the pid from here after spawn() loses that race to a fast shell.
 */
export function shellEnteringCgroup(dir: string): string {
  const procs = `'${join(dir, "cgroup.procs").replaceAll("'", `'\\''`)}'`;
  return `echo $$ > ${procs} 2>/dev/null; exec /bin/sh -c "$0"`;
}

/** Creates the replica's cgroup and moves `pid` into it; undefined when the hierarchy is not ours to write. */
export function enterReplicaCgroup(dir: string, pid: number): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
    return dir;
  } catch {
    removeReplicaCgroup(dir);
    return undefined;
  }
}

/** The processes in a cgroup (none when it does not exist). */
export function cgroupMembers(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
  } catch {
    return [];
  }
}

/** Signals every process of the cgroup; SIGKILL goes through `cgroup.kill` where the kernel has it (5.14+). */
export function signalCgroup(dir: string, signal: NodeJS.Signals): void {
  if (signal === "SIGKILL") {
    try {
      writeFileSync(join(dir, "cgroup.kill"), "1");
      return;
    } catch {
      // Older kernel: signal the members one by one.
    }
  }
  for (const pid of cgroupMembers(dir)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Removes an empty cgroup; a no-op when it is gone or still has members. */
export function removeReplicaCgroup(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Missing, or not empty yet: the next stop of this replica tries again.
  }
}

/**
 * Removes the empty cgroups an agent instance left behind (a platform killed hard, backends that
 * ended while no agent ran): called at start, before any replica of this run has one.
 */
export function removeEmptyReplicaCgroups(base: string, instance: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`ik-${instance}-`)) continue;
    const dir = join(base, name);
    if (cgroupMembers(dir).length === 0) removeReplicaCgroup(dir);
  }
}
