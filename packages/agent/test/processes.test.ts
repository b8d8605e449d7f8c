import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  groupAlive,
  groupMembers,
  isAlive,
  parseProcStat,
  readProcStat,
  signalGroup,
  stopGroup,
} from "../src";
import { expectNoProcessLeft, uniqueMarker, waitFor } from "./support/processes";

describe("process helpers", () => {
  it("parses /proc/<pid>/stat, even with spaces and parentheses in the command name", () => {
    const line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
    expect(parseProcStat(line)).toEqual({ pid: 4242, state: "S", ppid: 1, pgrp: 4242, startTime: "987654" });
    expect(parseProcStat("garbage")).toBeUndefined();
  });

  it("sees this process alive and in its group", () => {
    expect(isAlive(process.pid)).toBe(true);
    expect(readProcStat(process.pid)?.pid).toBe(process.pid);
    expect(isAlive(0)).toBe(false);
  });

  it("refuses to signal group 0, 1 or its own", () => {
    expect(signalGroup(0, "SIGTERM")).toBe(false);
    expect(signalGroup(1, "SIGTERM")).toBe(false);
    expect(groupAlive(1)).toBe(false);
  });

  it("stops a whole detached group, children included", async () => {
    // Prepare
    const marker = uniqueMarker("group");
    const idle = `${process.execPath} -e "setInterval(() => {}, 1000)" ${marker}`;
    const child = spawn("/bin/sh", ["-c", `${idle} & ${idle} & wait`], { detached: true, stdio: "ignore" });
    const pgid = child.pid ?? 0;
    await waitFor("three members", () => groupMembers(pgid).length === 3);
    // Act
    const how = await stopGroup(pgid, 2_000);
    // Assess
    expect(how).toBe("terminated");
    expect(groupAlive(pgid)).toBe(false);
    await expectNoProcessLeft(marker, 0);
  });
});
