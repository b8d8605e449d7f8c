import { readdirSync, readFileSync } from "node:fs";
import { cgroupMembers, removeReplicaCgroup, signalCgroup } from "./replica-cgroup";

/** What /proc/<pid>/stat tells about a process (Linux). */
export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks since boot: with the pid, it identifies a process across pid reuse. */
  startTime: string;
}

/** Parses the content of /proc/<pid>/stat; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // The command name is in parentheses and may itself hold spaces and parentheses: split after the last ")".
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 of proc(5) (state); starttime is field 22.
  const [state, ppid, pgrp] = [fields[0], Number(fields[1]), Number(fields[2])];
  const startTime = fields[19];
  if (
    !Number.isInteger(pid) ||
    state === undefined ||
    !Number.isInteger(ppid) ||
    !Number.isInteger(pgrp) ||
    startTime === undefined
  ) {
    return undefined;
  }
  return { pid, state, ppid, pgrp, startTime };
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

function hasProc(): boolean {
  try {
    readFileSync("/proc/self/stat");
    return true;
  } catch {
    return false;
  }
}

const PROC_AVAILABLE = hasProc();

/** Whether the process exists and is not a zombie (an exited process nobody reaped yet). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (!PROC_AVAILABLE) return true;
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** The living (non-zombie) members of a process group. */
export function groupMembers(pgid: number): number[] {
  if (!PROC_AVAILABLE) return groupAliveBySignal(pgid) ? [pgid] : [];
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return groupAliveBySignal(pgid) ? [pgid] : [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined && stat.pgrp === pgid && stat.state !== "Z") members.push(stat.pid);
  }
  return members;
}

function groupAliveBySignal(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function groupAlive(pgid: number): boolean {
  return isSafeGroup(pgid) && groupMembers(pgid).length > 0;
}

/** Never signal group 0 (our own) or 1 (-1 means every process we may signal). */
function isSafeGroup(pgid: number): boolean {
  return Number.isInteger(pgid) && pgid > 1 && pgid !== process.pid;
}

/** Sends a signal to every process of the group; false when the group is gone (or unsafe to signal). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!isSafeGroup(pgid)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves true as soon as `done()` holds, false after `timeoutMs`. */
export async function waitUntil(done: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))),
    );
  }
}

/**
 * Set in every backend's environment. A process inherits them from the backend however far it
 * forked or detached (a `setsid` child leaves the group; its environment stays), so a stop finds it.
 * Replica ids derive from (project, workload, slot, generation) and repeat across platforms, so the
 * agent instance is part of the tag: one agent never ends another agent's backends.
 */
export const REPLICA_ID_ENV = "INFERENCEKEY_REPLICA_ID";
export const AGENT_INSTANCE_ENV = "INFERENCEKEY_AGENT_INSTANCE";

/**
 * Living processes (not this one) whose environment at start held every `name=value` given, read
 * from /proc/<pid>/environ (Linux; none elsewhere). Processes of other users cannot be read and are skipped.
 */
export function processesWithEnv(pairs: Record<string, string>): number[] {
  if (!PROC_AVAILABLE) return [];
  const needles = Object.entries(pairs).map(([name, value]) => Buffer.from(`\0${name}=${value}\0`));
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue;
    }
    // A leading NUL makes the first variable match like the others; the NULs around each needle
    // keep FOO_INFERENCEKEY_REPLICA_ID=... and longer values from matching.
    const block = Buffer.concat([Buffer.from([0]), environ, Buffer.from([0])]);
    if (!needles.every((needle) => block.includes(needle))) continue;
    const stat = readProcStat(Number(entry));
    if (stat !== undefined && stat.state !== "Z") found.push(stat.pid);
  }
  return found;
}

/** What belongs to one replica: its process group, every process carrying its tag in the environment, its cgroup. */
export interface ReplicaProcesses {
  replicaId: string;
  /** The agent instance that started it (AGENT_INSTANCE_ENV); without it, the environment is not scanned. */
  instance?: string;
  pgid?: number;
  /** The replica's cgroup v2 directory, where the agent could create one. */
  cgroup?: string;
}

function tagged(target: ReplicaProcesses): number[] {
  if (target.instance === undefined) return [];
  return processesWithEnv({ [REPLICA_ID_ENV]: target.replicaId, [AGENT_INSTANCE_ENV]: target.instance });
}

/** The living processes of a replica: its group's members, every process tagged with it, its cgroup's members. */
export function replicaMembers(target: ReplicaProcesses): number[] {
  const members = new Set(tagged(target));
  if (target.pgid !== undefined && isSafeGroup(target.pgid)) for (const pid of groupMembers(target.pgid)) members.add(pid);
  if (target.cgroup !== undefined) for (const pid of cgroupMembers(target.cgroup)) if (isAlive(pid)) members.add(pid);
  return [...members];
}

/** Sends a signal to the replica's group, to every process tagged with its id and to its cgroup. */
export function signalReplica(target: ReplicaProcesses, signal: NodeJS.Signals): void {
  if (target.pgid !== undefined) signalGroup(target.pgid, signal);
  if (target.cgroup !== undefined) signalCgroup(target.cgroup, signal);
  for (const pid of tagged(target)) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile, or not ours to signal.
    }
  }
}

/**
 * Stops everything of a replica, not only its process group: a backend that called `setsid` (or
 * daemonised) escapes the group but not its environment. SIGTERM, up to `graceMs`, then SIGKILL.
 */
export async function stopReplicaProcesses(target: ReplicaProcesses, graceMs: number): Promise<"gone" | "terminated" | "killed"> {
  const alive = () => replicaMembers(target).length > 0;
  const done = (how: "gone" | "terminated" | "killed") => {
    if (target.cgroup !== undefined) removeReplicaCgroup(target.cgroup);
    return how;
  };
  if (!alive()) return done("gone");
  signalReplica(target, "SIGTERM");
  if (await waitUntil(() => !alive(), graceMs, 100)) return done("terminated");
  signalReplica(target, "SIGKILL");
  await waitUntil(() => !alive(), 5_000, 100);
  return done("killed");
}

/**
 * Stops a whole process group: SIGTERM to every member, up to `graceMs` for them to leave, then
 * SIGKILL. Resolves once no living member remains (or, after SIGKILL, 5 s at most).
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<"gone" | "terminated" | "killed"> {
  if (!groupAlive(pgid)) return "gone";
  signalGroup(pgid, "SIGTERM");
  if (await waitUntil(() => !groupAlive(pgid), graceMs)) return "terminated";
  signalGroup(pgid, "SIGKILL");
  await waitUntil(() => !groupAlive(pgid), 5_000);
  return "killed";
}
