import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CronSchedule,
  cronRunState,
  isWindowOpen,
  nextCronFire,
  nextWindowChange,
  parseCron,
  parseTimeZone,
  parseWindow,
  previousCronFire,
  type ScheduleError,
  type Window,
} from "../../src/schedule";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** Zones with DST at 02:00/03:00, at midnight, by 30 minutes, none at all, and a skipped day. */
const ZONES = [
  "UTC",
  "Europe/Madrid",
  "America/New_York",
  "Australia/Lord_Howe",
  "America/Santiago",
  "America/Havana",
  "Asia/Kathmandu",
  "Pacific/Apia",
];

/** Offset changes in those zones, so that instants are often drawn close to one. */
const TRANSITIONS = [
  "2025-03-30T01:00:00Z",
  "2025-10-26T01:00:00Z",
  "2025-03-09T07:00:00Z",
  "2025-11-02T06:00:00Z",
  "2025-04-05T15:00:00Z",
  "2025-10-04T15:30:00Z",
  "2025-04-06T03:00:00Z",
  "2025-09-07T04:00:00Z",
  "2025-03-09T05:00:00Z",
  "2025-11-02T05:00:00Z",
  "2011-12-30T10:00:00Z",
].map((iso) => Date.parse(iso));

const instant = fc
  .oneof(
    fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }),
    fc
      .tuple(
        fc.constantFrom(...TRANSITIONS),
        fc.integer({ min: -26 * 60, max: 26 * 60 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MINUTE - 1 })),
      )
      .map(([base, minutes, ms]) => base + minutes * MINUTE + ms),
  )
  .map((ms) => new Date(ms));

/** Minutes after midnight, often on or near the hours DST moves. */
const minuteOfDay = fc.oneof(
  fc.integer({ min: 0, max: 1439 }),
  fc.constantFrom(0, 30, 60, 90, 120, 150, 180, 210, 1380, 1410),
);

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

const daysText = fc.oneof(
  fc.constantFrom("Daily", "*", "Mon-Fri", "Fri-Mon", "Sat,Sun", "Sun"),
  fc.subarray(DAY_NAMES, { minLength: 1 }).map((days) => days.join(",")),
  fc.tuple(fc.constantFrom(...DAY_NAMES), fc.constantFrom(...DAY_NAMES)).map(([a, b]) => `${a}-${b}`),
);

const windowArbitrary: fc.Arbitrary<Window> = fc
  .tuple(daysText, minuteOfDay, fc.oneof(minuteOfDay, fc.constant(1440)), fc.constantFrom(...ZONES))
  .filter(([, start, end]) => start !== end && !(start === 0 && end === 0))
  .map(([days, start, end, zone]) => {
    const result = parseWindow(`${days} ${clock(start)}-${end === 1440 ? "24:00" : clock(end)} ${zone}`);
    if (!result.ok) throw new Error(result.error.message);
    return result.value;
  })
  // A window open every minute of the week never flips.
  .filter((w) => !(w.days.length === 7 && w.startMinute === 0 && w.endMinute === 1440));

/** Each expression with the longest run that still leaves a gap before its next firing. */
const CRONS: [string, number][] = [
  ["30 2 * * *", 600],
  ["0 1 * * *", 600],
  ["30 1 * * SUN", 600],
  ["*/30 * * * *", 29],
  ["15 */2 * * *", 119],
  ["0 9-17 * * 1-5", 600],
  ["*/10 1-3 * * 0", 300],
  ["0,20,40 2 * * *", 600],
  ["0 0 1 * *", 600],
  ["0 2 L * *", 600],
  ["H 2 * * *", 600],
  ["@hourly", 59],
  ["@daily", 600],
  ["*/7 * * * *", 3],
];

const cronArbitrary = fc
  .tuple(fc.constantFrom(...CRONS), fc.constantFrom(...ZONES))
  .chain(([[expression, maxRun], zone]) => {
    const result = parseCron(expression, zone);
    if (!result.ok) throw new Error(result.error.message);
    return fc.record({
      schedule: fc.constant(result.value),
      runMinutes: fc.integer({ min: 1, max: maxRun }),
    });
  });

function isScheduleError(error: ScheduleError, codes: ScheduleError["code"][]): boolean {
  return (
    codes.includes(error.code) &&
    typeof error.message === "string" &&
    error.message.length > 0 &&
    typeof error.expected === "string" &&
    error.expected.length > 0 &&
    (error.suggestion === undefined || typeof error.suggestion === "string")
  );
}

const WINDOW_TOKENS = [
  "Mon",
  "tue",
  "WED",
  "Thu",
  "Fri",
  "Sat",
  "Sun",
  "Monday",
  "tues",
  "Daily",
  "*",
  "weekdays",
  "-",
  "\u2013",
  ",",
  ":",
  " ",
  "08:00",
  "8:00",
  "24:00",
  "00:00",
  "23:59",
  "8",
  "20",
  "8am",
  "8pm",
  "12:60",
  "Europe/Madrid",
  "europe/madrid",
  "Europe/Madird",
  "UTC",
  "+01:00",
  "CEST",
  "America/New York",
  "to",
  "x",
];
const CRON_TOKENS = [
  "*",
  "0",
  "30",
  "2",
  "25",
  "60",
  "*/15",
  "1-5",
  "MON-FRI",
  "L",
  "H",
  "?",
  "#",
  "@daily",
  "@reboot",
  "@weekdays",
  "JAN",
  "1#1",
  "5L",
  "-",
  "/",
  ",",
  " ",
];

function sentences(tokens: string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(fc.constantFrom(...tokens), { maxLength: 8 }), fc.constantFrom(" ", ""))
    .map(([words, glue]) => words.join(glue));
}

const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  sentences(WINDOW_TOKENS),
  sentences(CRON_TOKENS),
);

/** Local weekday and minute of day at an instant, straight from Intl, as an independent oracle. */
function localClock(at: Date, timeZone: string): { weekday: number; minute: number; offset: string } {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    weekday: "short",
    hour: "numeric",
    minute: "numeric",
    hourCycle: "h23",
    timeZoneName: "longOffset",
  }).formatToParts(at);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "";
  return {
    weekday: DAY_NAMES.indexOf(get("weekday")),
    minute: Number(get("hour")) * 60 + Number(get("minute")),
    offset: get("timeZoneName"),
  };
}

describe("parsers never throw", () => {
  it("return a value or a typed error for any string, and every suggestion parses", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        // Act
        const window = parseWindow(text);
        const cron = parseCron(text);
        const zone = parseTimeZone(text);

        // Assess
        if (window.ok) {
          const { days, startMinute, endMinute } = window.value;
          expect(days).toEqual([...new Set(days)].sort((a, b) => a - b));
          expect(days.every((day) => day >= 0 && day <= 6) && days.length > 0).toBe(true);
          expect(startMinute >= 0 && startMinute <= 1439 && endMinute >= 1 && endMinute <= 1440).toBe(true);
          expect(startMinute).not.toBe(endMinute);
        } else {
          expect(isScheduleError(window.error, ["invalid_window", "invalid_timezone"])).toBe(true);
          if (window.error.suggestion !== undefined)
            expect(parseWindow(window.error.suggestion).ok).toBe(true);
        }
        if (!cron.ok) {
          expect(isScheduleError(cron.error, ["invalid_cron"])).toBe(true);
          if (cron.error.suggestion !== undefined) expect(parseCron(cron.error.suggestion).ok).toBe(true);
        }
        if (!zone.ok) {
          expect(isScheduleError(zone.error, ["invalid_timezone"])).toBe(true);
          if (zone.error.suggestion !== undefined) expect(parseTimeZone(zone.error.suggestion).ok).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("parseCron never throws for any zone text either", () => {
    fc.assert(
      fc.property(anyText, (zone) => {
        // Act
        const result = parseCron("0 2 * * *", zone);

        // Assess
        expect(result.ok || isScheduleError(result.error, ["invalid_timezone"])).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("window timing properties", () => {
  it("nextWindowChange is later than `at` and the state really flips there, not before", () => {
    fc.assert(
      fc.property(windowArbitrary, instant, fc.double({ min: 0, max: 1, noNaN: true }), (w, at, fraction) => {
        // Act
        const state = nextWindowChange(w, at);

        // Assess
        const changesAt = state.changesAt.getTime();
        expect(state.steady).toBeUndefined();
        expect(changesAt).toBeGreaterThan(at.getTime());
        expect(isWindowOpen(w, at)).toBe(state.open);
        expect(isWindowOpen(w, state.changesAt)).toBe(!state.open);
        expect(isWindowOpen(w, new Date(changesAt - 1))).toBe(state.open);
        const between = at.getTime() + Math.floor((changesAt - at.getTime()) * fraction);
        expect(isWindowOpen(w, new Date(Math.min(between, changesAt - 1)))).toBe(state.open);
      }),
      { numRuns: 300 },
    );
  });

  it("isWindowOpen matches the local wall clock away from DST transitions", () => {
    fc.assert(
      fc.property(windowArbitrary, instant, (w, at) => {
        // Prepare: the oracle reads local time directly, which is only unambiguous far from a transition.
        const here = localClock(at, w.timeZone);
        fc.pre(
          localClock(new Date(at.getTime() - 26 * HOUR), w.timeZone).offset === here.offset &&
            localClock(new Date(at.getTime() + 26 * HOUR), w.timeZone).offset === here.offset,
        );
        const yesterday = (here.weekday + 6) % 7;
        const crosses = w.endMinute <= w.startMinute;
        const expected = crosses
          ? (w.days.includes(here.weekday) && here.minute >= w.startMinute) ||
            (w.days.includes(yesterday) && here.minute < w.endMinute)
          : w.days.includes(here.weekday) && here.minute >= w.startMinute && here.minute < w.endMinute;

        // Act
        const open = isWindowOpen(w, at);

        // Assess
        expect(open).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("cron timing properties", () => {
  it("nextCronFire is strictly later, and previous/next firings agree with each other", () => {
    fc.assert(
      fc.property(cronArbitrary, instant, ({ schedule }, at) => {
        // Act
        const next = nextCronFire(schedule, at);
        const previous = previousCronFire(schedule, at);

        // Assess
        expect(next.getTime()).toBeGreaterThan(at.getTime());
        expect(previousCronFire(schedule, next)?.getTime()).toBe(next.getTime());
        expect(nextCronFire(schedule, new Date(next.getTime() - 1)).getTime()).toBe(next.getTime());
        if (previous !== undefined) {
          expect(previous.getTime()).toBeLessThanOrEqual(at.getTime());
          expect(nextCronFire(schedule, previous).getTime()).toBe(next.getTime());
        }
      }),
      { numRuns: 200 },
    );
  });

  it("cronRunState is later than `at` and the run state really flips there", () => {
    fc.assert(
      fc.property(cronArbitrary, instant, ({ schedule, runMinutes }, at) => {
        // Act
        const state = cronRunState(schedule, runMinutes, at);

        // Assess
        expect(state.steady).toBeUndefined();
        expect(state.changesAt.getTime()).toBeGreaterThan(at.getTime());
        expect(cronRunState(schedule, runMinutes, state.changesAt).open).toBe(!state.open);
        expect(cronRunState(schedule, runMinutes, new Date(state.changesAt.getTime() - 1)).open).toBe(
          state.open,
        );
        expect(state.open).toBe(isInRun(schedule, runMinutes, at));
      }),
      { numRuns: 150 },
    );
  });
});

/** A run is in progress when the latest firing at or before `at` is less than a run ago. */
function isInRun(schedule: CronSchedule, runMinutes: number, at: Date): boolean {
  const previous = previousCronFire(schedule, at);
  return previous !== undefined && at.getTime() < previous.getTime() + runMinutes * MINUTE;
}
