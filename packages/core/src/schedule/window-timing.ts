import type { ScheduleState, Window } from "./types";
import { DAY_MS, instantOfWallTime, MINUTE_MS, wallTimeAt } from "./wall-clock";

interface Interval {
  start: number;
  end: number;
}

/**
 * Local days scanned ahead of `at`. A window that is not always open closes within a week plus
 * a crossing into the next day, so runs still open after this many days never close.
 */
const LOOKAHEAD_DAYS = 9;

/** Local day number (days since 1970-01-01 in wall-clock time) of an instant. */
function localDay(ms: number, timeZone: string): number {
  return Math.floor(wallTimeAt(ms, timeZone) / DAY_MS);
}

function weekdayOf(day: number): number {
  // 1970-01-01 was a Thursday.
  return (((day + 4) % 7) + 7) % 7;
}

/** The opening that starts on local day `day`, or undefined when there is none or DST erased it. */
function openingOn(w: Window, day: number): Interval | undefined {
  if (!w.days.includes(weekdayOf(day))) return undefined;
  const start = instantOfWallTime(day * DAY_MS + w.startMinute * MINUTE_MS, w.timeZone);
  const endDay = w.endMinute <= w.startMinute ? day + 1 : day;
  const end = instantOfWallTime(endDay * DAY_MS + w.endMinute * MINUTE_MS, w.timeZone);
  return end > start ? { start, end } : undefined;
}

function requireValidDate(at: Date): number {
  const ms = at.getTime();
  if (Number.isNaN(ms)) throw new RangeError("schedule: the instant is an invalid Date");
  return ms;
}

/** Whether the window is open at `at`: opening instants are inclusive, closing instants exclusive. */
export function isWindowOpen(w: Window, at: Date): boolean {
  const ms = requireValidDate(at);
  const today = localDay(ms, w.timeZone);
  // Yesterday's opening may cross midnight; tomorrow's can already have begun when a fall-back
  // repeats the last hour of today.
  for (let day = today - 1; day <= today + 1; day++) {
    const opening = openingOn(w, day);
    if (opening !== undefined && opening.start <= ms && ms < opening.end) return true;
  }
  return false;
}

/**
 * The window's state at `at` and the next instant it flips (always later than `at`). Openings
 * that touch, such as `Mon-Fri 00:00-24:00`, count as one run, so the flip is the real one.
 * A window that never closes (`Daily 00:00-24:00`) reports `open: true, steady: true` with
 * `changesAt` about nine days ahead, where it is still open: a moment to look again.
 */
export function nextWindowChange(w: Window, at: Date): ScheduleState {
  const ms = requireValidDate(at);
  const today = localDay(ms, w.timeZone);
  const runs: Interval[] = [];
  for (let day = today - 1; day <= today + LOOKAHEAD_DAYS; day++) {
    const opening = openingOn(w, day);
    if (opening === undefined) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && opening.start <= last.end) last.end = Math.max(last.end, opening.end);
    else runs.push({ ...opening });
  }
  const current = runs.find((run) => run.start <= ms && ms < run.end);
  if (current !== undefined) {
    const changesAt = new Date(current.end);
    // A run reaching past the scanned days is never going to close.
    return isWindowOpen(w, changesAt) ? { open: true, changesAt, steady: true } : { open: true, changesAt };
  }
  const upcoming = runs.find((run) => run.start > ms);
  if (upcoming !== undefined) return { open: false, changesAt: new Date(upcoming.start) };
  // Only a window with no days at all gets here; look again in a week.
  return { open: false, changesAt: new Date(ms + 7 * DAY_MS), steady: true };
}
