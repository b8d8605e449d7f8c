import { describe, expect, it } from "vitest";
import {
  type CronSchedule,
  cronRunState,
  nextCronFire,
  parseCron,
  previousCronFire,
} from "../../src/schedule";

function cron(expression: string, timeZone = "UTC"): CronSchedule {
  const result = parseCron(expression, timeZone);
  if (!result.ok) throw new Error(`test cron "${expression}" does not parse: ${result.error.message}`);
  return result.value;
}

/** The next `count` firings after `iso`, as ISO strings. */
function firings(c: CronSchedule, iso: string, count: number): string[] {
  const out: string[] = [];
  let after = new Date(iso);
  for (let i = 0; i < count; i++) {
    after = nextCronFire(c, after);
    out.push(after.toISOString());
  }
  return out;
}

describe("parseCron accepts", () => {
  it.each([
    ["0 2 * * *", "0 2 * * *"],
    ["  0   2 * *  * ", "0 2 * * *"],
    ["*/15 8-18 * * MON-FRI", "*/15 8-18 * * MON-FRI"],
    ["0 0 1 * *", "0 0 1 * *"],
    ["0 0 L * *", "0 0 L * *"],
    ["0 0 29 2 *", "0 0 29 2 *"],
    ["0 0 * * 7", "0 0 * * 7"],
    ["@daily", "@daily"],
    ["@HOURLY", "@hourly"],
    ["@weekly", "@weekly"],
    ["@monthly", "@monthly"],
    ["@yearly", "@yearly"],
    ["@annually", "@annually"],
  ])("%j", (input, expression) => {
    // Act
    const result = parseCron(input);

    // Assess
    expect(result).toEqual({ ok: true, value: { expression, timeZone: "UTC" } });
  });

  it("defaults to UTC and canonicalises the zone", () => {
    // Act
    const plain = parseCron("0 2 * * *");
    const aliased = parseCron("0 2 * * *", "US/Eastern");

    // Assess
    expect(plain.ok && plain.value.timeZone).toBe("UTC");
    expect(aliased.ok && aliased.value.timeZone).toBe("America/New_York");
  });
});

describe("parseCron refuses", () => {
  it.each([
    ["0 25 * * *", /hour field "25"/, /hour field .* 0-23/, undefined],
    ["60 * * * *", /minute field "60"/, /minute field .* 0-59/, undefined],
    ["0 0 32 * *", /day-of-month field "32"/, /1-31/, undefined],
    ["0 0 * 13 *", /month field "13"/, /1-12/, undefined],
    ["0 0 * * 8", /day-of-week field "8"/, /0-7/, undefined],
    ["0 0 * * FOO", /day-of-week field "FOO"/, /SUN-SAT/, undefined],
    ["0 0 30 2 *", /never fires/, /five fields/, undefined],
    ["0 0 2 * * *", /6 fields; a leading seconds field/, /five fields/, "0 2 * * *"],
    ["0 0 2 * * ? 2025", /7 fields; seconds and year/, /five fields/, "0 2 * * ?"],
    ["0 2 * *", /4 fields; exactly 5/, /five fields/, undefined],
    ["0 2 * * * * * *", /8 fields/, /five fields/, undefined],
    ["", /empty/, /five fields/, undefined],
    ["@reboot", /@reboot is not a schedule/, /fixed/, undefined],
    ["@dialy", /unknown cron macro "@dialy"/, /@daily/, "@daily"],
    ["@weekdays", /unknown cron macro/, /five fields/, "0 0 * * 1-5"],
    ["@daily 5", /takes no further fields/, /five fields/, "@daily"],
  ])("%j", (input, message, expected, suggestion) => {
    // Act
    const result = parseCron(input);

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("invalid_cron");
    expect(result.error.message).toMatch(message);
    expect(result.error.expected).toMatch(expected);
    expect(result.error.suggestion).toBe(suggestion);
  });

  it("an unknown zone as invalid_timezone with the nearest zone", () => {
    // Act
    const result = parseCron("0 2 * * *", "Europe/Madird");

    // Assess
    expect(result).toMatchObject({
      ok: false,
      error: { code: "invalid_timezone", suggestion: "Europe/Madrid" },
    });
  });
});

describe("nextCronFire and previousCronFire", () => {
  it("are strictly after and at-or-before", () => {
    // Prepare
    const c = cron("0 8 * * *");
    const fire = new Date("2025-01-01T08:00:00Z");

    // Act
    const afterFire = nextCronFire(c, fire);
    const justBefore = nextCronFire(c, new Date("2025-01-01T07:59:59.999Z"));
    const atFire = previousCronFire(c, fire);
    const justBeforeFire = previousCronFire(c, new Date("2025-01-01T07:59:59.999Z"));

    // Assess
    expect(afterFire.toISOString()).toBe("2025-01-02T08:00:00.000Z");
    expect(justBefore.toISOString()).toBe("2025-01-01T08:00:00.000Z");
    expect(atFire?.toISOString()).toBe("2025-01-01T08:00:00.000Z");
    expect(justBeforeFire?.toISOString()).toBe("2024-12-31T08:00:00.000Z");
  });

  it("fire in the schedule's zone", () => {
    // Prepare
    const c = cron("0 8 * * MON-FRI", "Europe/Madrid");

    // Act
    const fires = firings(c, "2025-01-09T12:00:00Z", 3);

    // Assess: Friday, then Monday and Tuesday, 08:00 CET.
    expect(fires).toEqual([
      "2025-01-10T07:00:00.000Z",
      "2025-01-13T07:00:00.000Z",
      "2025-01-14T07:00:00.000Z",
    ]);
  });

  it("expand macros", () => {
    // Act
    const daily = firings(cron("@daily", "America/New_York"), "2025-01-01T12:00:00Z", 1);
    const hourly = firings(cron("@hourly"), "2025-01-01T12:30:00Z", 1);

    // Assess
    expect(daily).toEqual(["2025-01-02T05:00:00.000Z"]);
    expect(hourly).toEqual(["2025-01-01T13:00:00.000Z"]);
  });

  it("give hashed (H) fields the same minutes on every parse", () => {
    // Act
    const first = nextCronFire(cron("H 2 * * *"), new Date("2025-01-01T00:00:00Z"));
    const second = nextCronFire(cron("H 2 * * *"), new Date("2025-01-01T00:00:00Z"));

    // Assess
    expect(first.toISOString()).toBe(second.toISOString());
  });
});

describe("cron across DST", () => {
  it("fires a daily 02:30 once on the New York spring-forward day, at the end of the gap", () => {
    // Prepare: 2025-03-09 02:00 EST jumps to 03:00 EDT (07:00Z); 02:30 does not exist.
    const c = cron("30 2 * * *", "America/New_York");

    // Act
    const fires = firings(c, "2025-03-08T12:00:00Z", 3);
    const previous = previousCronFire(c, new Date("2025-03-09T12:00:00Z"));

    // Assess: like a window opening at 02:30, it fires at 03:00 EDT; it is never skipped.
    expect(fires).toEqual([
      "2025-03-09T07:00:00.000Z",
      "2025-03-10T06:30:00.000Z",
      "2025-03-11T06:30:00.000Z",
    ]);
    expect(previous?.toISOString()).toBe("2025-03-09T07:00:00.000Z");
  });

  it("collapses several firings inside the spring-forward gap into one (New York)", () => {
    // Act
    const fires = firings(cron("*/15 * * * *", "America/New_York"), "2025-03-09T06:40:00Z", 3);

    // Assess: 01:45 EST, then 02:00..03:00 all at 03:00 EDT, then 03:15 EDT.
    expect(fires).toEqual([
      "2025-03-09T06:45:00.000Z",
      "2025-03-09T07:00:00.000Z",
      "2025-03-09T07:15:00.000Z",
    ]);
  });

  it("fires a daily 01:30 once on the New York fall-back day, at the first occurrence", () => {
    // Prepare: 2025-11-02 01:00-02:00 happens twice; the first 01:30 is EDT (05:30Z).
    const c = cron("30 1 * * *", "America/New_York");

    // Act
    const fires = firings(c, "2025-11-01T12:00:00Z", 2);
    const previous = previousCronFire(c, new Date("2025-11-02T12:00:00Z"));

    // Assess
    expect(fires).toEqual(["2025-11-02T05:30:00.000Z", "2025-11-03T06:30:00.000Z"]);
    expect(previous?.toISOString()).toBe("2025-11-02T05:30:00.000Z");
  });

  it("fires repeated wall times only in the first pass, also for frequent expressions (New York)", () => {
    // Prepare: on 2025-11-02 the hour 01:00-02:00 runs from 05:00Z to 06:00Z and again to 07:00Z.
    const c = cron("*/30 * * * *", "America/New_York");

    // Act
    const fires = firings(c, "2025-11-02T04:50:00Z", 4);
    const fromSecondPass = nextCronFire(c, new Date("2025-11-02T06:10:00Z"));
    const previousInSecondPass = previousCronFire(c, new Date("2025-11-02T06:50:00Z"));

    // Assess
    expect(fires).toEqual([
      "2025-11-02T05:00:00.000Z",
      "2025-11-02T05:30:00.000Z",
      "2025-11-02T07:00:00.000Z",
      "2025-11-02T07:30:00.000Z",
    ]);
    expect(fromSecondPass.toISOString()).toBe("2025-11-02T07:00:00.000Z");
    expect(previousInSecondPass?.toISOString()).toBe("2025-11-02T05:30:00.000Z");
  });

  it("handles Madrid's spring-forward and fall-back days", () => {
    // Prepare: 2025-03-30 02:00 CET -> 03:00 CEST; 2025-10-26 03:00 CEST -> 02:00 CET.
    const c = cron("30 2 * * *", "Europe/Madrid");

    // Act
    const spring = firings(c, "2025-03-29T12:00:00Z", 2);
    const autumn = firings(c, "2025-10-25T12:00:00Z", 2);

    // Assess: spring forward fires at 03:00 CEST; fall back at the first 02:30 (CEST).
    expect(spring).toEqual(["2025-03-30T01:00:00.000Z", "2025-03-31T00:30:00.000Z"]);
    expect(autumn).toEqual(["2025-10-26T00:30:00.000Z", "2025-10-27T01:30:00.000Z"]);
  });

  it("runs a spring-forward firing for its full length (New York)", () => {
    // Act
    const state = cronRunState(cron("30 2 * * *", "America/New_York"), 60, new Date("2025-03-09T07:45:00Z"));

    // Assess: fired at 03:00 EDT (07:00Z), runs until 08:00Z.
    expect(state).toEqual({ open: true, changesAt: new Date("2025-03-09T08:00:00Z") });
  });

  it("does not start a second run on the repeated fall-back hour (New York)", () => {
    // Act: 06:40Z is the second 01:40; the only firing was the first 01:30.
    const state = cronRunState(cron("30 1 * * *", "America/New_York"), 30, new Date("2025-11-02T06:40:00Z"));

    // Assess
    expect(state).toEqual({ open: false, changesAt: new Date("2025-11-03T06:30:00Z") });
  });
});

describe("cronRunState", () => {
  it.each([
    ["0 2 * * *", 60, "2025-01-01T01:59:00Z", false, "2025-01-01T02:00:00Z"],
    ["0 2 * * *", 60, "2025-01-01T02:00:00Z", true, "2025-01-01T03:00:00Z"],
    ["0 2 * * *", 60, "2025-01-01T02:59:59Z", true, "2025-01-01T03:00:00Z"],
    ["0 2 * * *", 60, "2025-01-01T03:00:00Z", false, "2025-01-02T02:00:00Z"],
    // A firing during a run extends it.
    ["0,20 8 * * *", 30, "2025-01-01T08:10:00Z", true, "2025-01-01T08:50:00Z"],
    // A firing exactly as a run ends continues it without a gap.
    ["0 8,9 * * *", 60, "2025-01-01T08:30:00Z", true, "2025-01-01T10:00:00Z"],
    // Runs longer than the interval merge into one until the firings stop.
    ["0 * * * MON", 90, "2025-01-06T12:00:00Z", true, "2025-01-07T00:30:00Z"],
  ])("%s lasting %i min at %s", (expression, minutes, iso, open, changesAt) => {
    // Prepare
    const c = cron(expression);
    const at = new Date(iso);

    // Act
    const state = cronRunState(c, minutes, at);

    // Assess
    expect(state).toEqual({ open, changesAt: new Date(changesAt) });
    expect(cronRunState(c, minutes, state.changesAt).open).toBe(!open);
  });

  it("reports runs that never end as open with a later re-check point", () => {
    // Prepare: a week-long run started every day never leaves a gap.
    const c = cron("0 2 * * *");
    const at = new Date("2025-01-03T00:00:00Z");

    // Act
    const state = cronRunState(c, 10_080, at);

    // Assess
    expect(state.open).toBe(true);
    expect(state.steady).toBe(true);
    expect(state.changesAt.getTime()).toBeGreaterThan(at.getTime() + 7 * 86_400_000);
    expect(cronRunState(c, 10_080, state.changesAt).open).toBe(true);
  });

  it("refuses a non-positive run length", () => {
    // Act and Assess
    expect(() => cronRunState(cron("0 2 * * *"), 0, new Date())).toThrow(RangeError);
  });
});
