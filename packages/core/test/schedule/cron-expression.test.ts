import { describe, expect, it } from "vitest";
import { nextFiring, parseCronFields } from "../../src/schedule/cron-expression";

/** The next `count` firings after `iso`, hashing H with the expression itself as parseCron does. */
function firings(expression: string, iso: string, count: number): string[] {
  const parsed = parseCronFields(expression.split(" "), expression);
  if (!parsed.ok) throw new Error(`test cron "${expression}" does not parse: ${parsed.reason}`);
  const out: string[] = [];
  let after = Date.parse(iso);
  for (let i = 0; i < count; i++) {
    const next = nextFiring(parsed.value, after);
    if (next === undefined) throw new Error(`"${expression}" stopped firing`);
    out.push(new Date(next).toISOString());
    after = next;
  }
  return out;
}

describe("cron field meaning", () => {
  it.each([
    // Both day fields restricted: a day matching either fires (Fridays, and the 13th).
    ["0 0 13 * FRI", "2025-06-01T00:00:00Z", ["2025-06-06", "2025-06-13", "2025-06-20"]],
    // 7 is Sunday.
    ["0 0 * * 7", "2025-01-01T00:00:00Z", ["2025-01-05", "2025-01-12", "2025-01-19"]],
    // nL: the last Friday of the month.
    ["0 0 * * 5L", "2025-02-01T00:00:00Z", ["2025-02-28", "2025-03-28", "2025-04-25"]],
    // #k: the second Monday.
    ["0 0 * * MON#2", "2025-03-01T00:00:00Z", ["2025-03-10", "2025-04-14", "2025-05-12"]],
    // L: the last day, 28 February outside leap years.
    ["0 0 L 2 *", "2025-01-01T00:00:00Z", ["2025-02-28", "2026-02-28", "2027-02-28"]],
  ])("%s", (expression, from, days) => {
    // Act
    const fires = firings(expression, from, 3);

    // Assess
    expect(fires).toEqual(days.map((day) => `${day}T00:00:00.000Z`));
  });

  it.each([
    ["H 2 * * *", ["2025-01-01T02:18:00.000Z", "2025-01-02T02:18:00.000Z"]],
    ["H H(9-17) * * 1-5", ["2025-01-01T10:19:00.000Z", "2025-01-02T10:19:00.000Z"]],
    ["H/20 * * * *", ["2025-01-01T00:06:00.000Z", "2025-01-01T00:26:00.000Z"]],
  ])("keeps %s on the minutes cron-parser hashed it to", (expression, expected) => {
    // Act
    const fires = firings(expression, "2025-01-01T00:00:00Z", 2);

    // Assess: schedules saved before the switch fire when they did.
    expect(fires).toEqual(expected);
  });
});

describe("parseCronFields refuses", () => {
  it.each([
    [["0", "0", "1W", "*", "*"], 2, /W \(nearest weekday\) is not supported/],
    [["0", "0", "L-2", "*", "*"], 2, /L \(last\) is allowed only alone/],
    [["0", "0", "*", "*", "0,7"], 4, /Sunday \(0 or 7\) is listed twice/],
    [["*/15,30", "*", "*", "*", "*"], 0, /30 is listed twice/],
    [["0", "0", "*", "*", "1#6"], 4, /occurrence after "#" must be 1-5/],
    [["0", "0", "*", "*", "MON,TUE#2"], 4, /"#" takes one weekday/],
    // cron-parser accepted these four by rewriting text (JANFEB became 12, 1H depended on the hash,
    // */FEB became */2, 1#0x2 was read by Number); refused on purpose.
    [["0", "0", "*", "JANFEB", "*"], 3, /"JANFEB" is not a number 1-12 or a month name/],
    [["1H", "*", "*", "*", "*"], 0, /"1H" is not a number 0-59/],
    [["0", "0", "*", "*/FEB", "*"], 3, /step in "\*\/FEB" must be a whole number/],
    [["0", "0", "*", "*", "1#0x2"], 4, /occurrence after "#" must be 1-5/],
    [["0", "25", "*", "*", "*"], 1, /25 is outside 0-23/],
    [["0", "0", "*", "*", "FRI-MON"], 4, /runs backwards \(5 > 1\)/],
  ])("%j naming field %i", (fields, field, reason) => {
    // Act
    const result = parseCronFields(fields, fields.join(" "));

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.field).toBe(field);
    expect(result.reason).toMatch(reason);
  });
});
