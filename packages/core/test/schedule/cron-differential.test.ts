import { CronExpressionParser } from "cron-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextCronFire, parseCron, previousCronFire } from "../../src/schedule";
import {
  type CronFields,
  latestFiring,
  nextFiring,
  parseCronFields,
} from "../../src/schedule/cron-expression";

/**
 * cron-expression.ts replaced cron-parser 5 at runtime; cron-parser stays a devDependency so these
 * tests hold the two to the same acceptance and the same firings (in UTC, as cron.ts iterates).
 */

function libraryParses(expression: string): boolean {
  try {
    CronExpressionParser.parse(expression, {
      tz: "UTC",
      currentDate: new Date(Date.UTC(2000, 0, 1)),
      hashSeed: expression,
    }).next();
    return true;
  } catch {
    return false;
  }
}

/**
 * What parseCron accepted with cron-parser: each field parsed alone among wildcards (to name the
 * field at fault), then the whole expression, which must fire after 2000-01-01.
 */
function libraryAccepts(expression: string): boolean {
  const fields = expression.split(" ");
  const probes = fields.map((_, index) => fields.map((field, i) => (i === index ? field : "*")).join(" "));
  return probes.every(libraryParses) && libraryParses(expression);
}

function libraryNext(expression: string, after: number): number {
  const it = CronExpressionParser.parse(expression, {
    tz: "UTC",
    currentDate: new Date(after),
    hashSeed: expression,
  });
  return it.next().toDate().getTime();
}

function libraryPrevious(expression: string, atOrBefore: number): number | undefined {
  // prev() is strictly before its start; one millisecond later includes `atOrBefore`.
  const it = CronExpressionParser.parse(expression, {
    tz: "UTC",
    currentDate: new Date(atOrBefore + 1),
    hashSeed: expression,
  });
  try {
    return it.prev().toDate().getTime();
  } catch {
    return undefined;
  }
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Both accept or both refuse; when accepted, next and previous firings agree at every instant. */
function expectSameAsLibrary(
  expression: string,
  instants: readonly number[],
  accepts = libraryAccepts,
): void {
  const ours = parseCron(expression);
  expect(ours.ok, `${expression}: ${ours.ok ? "accepted" : ours.error.message}`).toBe(accepts(expression));
  if (!ours.ok) return;
  for (const at of instants) {
    const context = `${expression} at ${iso(at)}`;
    expect(iso(nextCronFire(ours.value, new Date(at)).getTime()), context).toBe(
      iso(libraryNext(expression, at)),
    );
    expect(iso(previousCronFire(ours.value, new Date(at))?.getTime()), context).toBe(
      iso(libraryPrevious(expression, at)),
    );
  }
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** A name in upper, lower or mixed case. */
function named(names: string[], index: number): fc.Arbitrary<string> {
  const name = names[index] ?? "";
  return fc.constantFrom(name, name.toLowerCase(), name[0] + name.slice(1).toLowerCase());
}

/** A field's value as a number (sometimes with a leading zero) or, where it has them, a name. */
function written(value: number, min: number, names?: string[]): fc.Arbitrary<string> {
  const numbers = fc.constantFrom(String(value), `0${value}`);
  const index = value - min;
  if (names === undefined || index < 0 || index >= names.length) return numbers;
  return fc.oneof(numbers, named(names, index));
}

/**
 * One list item: a value, `*`, `?`, a range, or a step on any of them. Plausible items keep values
 * in the field and ranges forwards, so most expressions parse and their firings get compared;
 * wild ones reach past the bounds, run ranges backwards and step by 0.
 */
function item(min: number, max: number, names: string[] | undefined, wild: boolean): fc.Arbitrary<string> {
  const number = wild ? fc.integer({ min: Math.max(0, min - 1), max: max + 1 }) : fc.integer({ min, max });
  const value = number.chain((v) => written(v, min, names));
  const range = fc
    .tuple(number, number)
    .map(([a, b]) => (wild ? [a, b] : [Math.min(a, b), Math.max(a, b)]))
    .chain(([a = min, b = max]) => fc.tuple(written(a, min, names), written(b, min, names)))
    .map(([a, b]) => `${a}-${b}`);
  const step = fc.integer({ min: wild ? 0 : 1, max: max + 1 }).map(String);
  return fc.oneof(
    { weight: 4, arbitrary: value },
    { weight: 1, arbitrary: fc.constantFrom("*", "?") },
    { weight: 2, arbitrary: range },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom("*", "?"), step).map(([a, s]) => `${a}/${s}`) },
    { weight: 2, arbitrary: fc.tuple(range, step).map(([r, s]) => `${r}/${s}`) },
    { weight: 1, arbitrary: fc.tuple(value, step).map(([a, s]) => `${a}/${s}`) },
  );
}

function list(itemArbitrary: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: itemArbitrary },
    {
      weight: 2,
      arbitrary: fc.array(itemArbitrary, { minLength: 2, maxLength: 3 }).map((items) => items.join(",")),
    },
  );
}

/** Text that is wrong in a way people write: each must be refused by both. */
const MALFORMED = fc.constantFrom(
  "*5",
  "1-*",
  "1--2",
  "1,,2",
  "1,",
  "/5",
  "5/",
  "1-5/2/3",
  "1-2-3",
  "L-2",
  "1W",
  "LW",
  "W",
  "5L",
  "L/2",
  "#",
  "1#6",
  "1#0",
  "L#2",
  "8L",
  "l",
  "x",
  "1.5",
  "+5",
  "-1",
);

function fields(wild: boolean): fc.Arbitrary<string> {
  const malformed = wild ? 1 : 0;
  const minute = fc.oneof(
    { weight: 9, arbitrary: list(item(0, 59, undefined, wild)) },
    { weight: malformed, arbitrary: MALFORMED },
  );
  const hour = fc.oneof(
    { weight: 9, arbitrary: list(item(0, 23, undefined, wild)) },
    { weight: malformed, arbitrary: MALFORMED },
  );
  const dayOfMonth = fc.oneof(
    { weight: 4, arbitrary: fc.constant("*") },
    {
      weight: 6,
      arbitrary: list(
        fc.oneof(
          { weight: 6, arbitrary: item(1, 31, undefined, wild) },
          { weight: 1, arbitrary: fc.constant("L") },
        ),
      ),
    },
    { weight: malformed, arbitrary: MALFORMED },
  );
  const month = fc.oneof(
    { weight: 4, arbitrary: fc.constant("*") },
    { weight: 6, arbitrary: list(item(1, 12, MONTHS, wild)) },
    { weight: malformed, arbitrary: MALFORMED },
  );
  const lastWeekday = fc
    .integer({ min: 0, max: wild ? 8 : 7 })
    .chain((day) => written(day, 0, DAYS))
    .map((day) => `${day}L`);
  const nthWeekday = fc
    .tuple(
      fc.oneof(
        fc.integer({ min: 0, max: 7 }).chain((day) => written(day, 0, DAYS)),
        fc.constantFrom("*", "?"),
      ),
      fc.integer({ min: wild ? 0 : 1, max: wild ? 6 : 5 }),
    )
    .map(([day, nth]) => `${day}#${nth}`);
  const dayOfWeek = fc.oneof(
    { weight: 4, arbitrary: fc.constant("*") },
    {
      weight: 6,
      arbitrary: list(
        fc.oneof({ weight: 5, arbitrary: item(0, 7, DAYS, wild) }, { weight: 1, arbitrary: lastWeekday }),
      ),
    },
    { weight: 2, arbitrary: nthWeekday },
    { weight: malformed, arbitrary: MALFORMED },
  );
  return fc.tuple(minute, hour, dayOfMonth, month, dayOfWeek).map((parts) => parts.join(" "));
}

const expression = fc.oneof({ weight: 3, arbitrary: fields(false) }, { weight: 1, arbitrary: fields(true) });

/** Instants from 1990 to 2110 (2000 is a leap century, 2100 is not), often just before a month turns. */
const instant = fc.oneof(
  fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2110, 0, 1) }),
  fc
    .tuple(
      fc.integer({ min: 1990, max: 2109 }),
      fc.integer({ min: 0, max: 11 }),
      fc.integer({ min: -3, max: 0 }),
    )
    .map(([year, monthIndex, days]) => Date.UTC(year, monthIndex + 1, days, 23, 59, 59, 999)),
);

describe("cron expressions agree with cron-parser", () => {
  it("on acceptance and next/previous firings for generated expressions", () => {
    fc.assert(
      fc.property(expression, fc.array(instant, { minLength: 3, maxLength: 3 }), (text, instants) => {
        expectSameAsLibrary(text, instants);
      }),
      { numRuns: 1000 },
    );
  });

  it("picks the same values for whole H items as cron-parser with the same seed", () => {
    const hashed = fc.oneof(
      fc.constant("H"),
      fc.integer({ min: 1, max: 40 }).map((step) => `H/${step}`),
      fc
        .tuple(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 }))
        .map(([low, high]) => `H(${Math.min(low, high)}-${Math.max(low, high)})`),
      fc
        .tuple(
          fc.integer({ min: 0, max: 30 }),
          fc.integer({ min: 0, max: 30 }),
          fc.integer({ min: 1, max: 20 }),
        )
        .map(([low, high, step]) => `H(${Math.min(low, high)}-${low + high})/${step}`),
    );
    const fields = fc.tuple(
      fc.oneof(hashed, fc.constant("0")),
      fc.oneof(hashed, fc.constant("2")),
      fc.oneof(hashed, fc.constant("*")),
      fc.oneof(hashed, fc.constant("*")),
      fc.oneof(hashed, fc.constant("*"), fc.constant("H#2"), fc.constant("HL")),
    );
    fc.assert(
      fc.property(fields, instant, (parts, at) => {
        // Judged on the whole expression only: the field-alone probes drew H values from their own
        // text, so a field whose validity depends on the draw (day-of-week H/7 may yield 0 and 7,
        // a Sunday twice) could be refused by a probe although the expression's own draw was fine.
        expectSameAsLibrary(parts.join(" "), [at], libraryParses);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    // Month ends and leap years.
    "0 0 29 2 *",
    "0 0 L 2 *",
    "59 23 L * *",
    "0 0 31 * *",
    "0 0 30,31 * *",
    "0 0 30 1-3 *",
    "0 0 31 4,6,9,11,1 *",
    "0 12 28-31 2 *",
    // #k and nL, also in short months.
    "0 0 * 2 1#5",
    "0 0 * 2 SUN#5",
    "0 0 * 2,4 0#5",
    "0 0 * * 5#5",
    "0 0 * * FRI#1",
    "0 0 * * *#2",
    "0 0 * * 5L",
    "0 0 * 2 1L",
    "0 0 * * 0L,7L",
    "0 0 * * MONL,3",
    // Steps crossing ranges and fields.
    "*/7 */5 * * *",
    "5/10 1-23/7 * * *",
    "0 0 1-31/10 * *",
    "0 0 */9 */5 *",
    "0 0 * * 1-7/2",
    "0 0 * * 1/2",
    "0 0 * * */3",
    "0 0 * * 7",
    "0 0 * * 7-7",
    "0 0 * * 0-7",
    "0 0 * * SUN-SAT",
    "? ? ? ? ?",
    // Both day fields restricted: either matches.
    "0 0 13 * 5",
    "0 0 1,15 * MON",
    "0 0 L * FRI",
    "0 0 1 * */1",
    "0 0 1 * 0-7",
    "0 0 30 2 MON",
    "0 0 31 2 1#5",
    // Refused by both.
    "0 0 30 2 *",
    "0 0 31 4,6 *",
    "0 0 30,31 2 *",
    "0 0 1W * *",
    "0 0 LW * *",
    "0 0 L-2 * *",
    "0 0 * * 0,7",
    "0 0 * * 5-7,0",
    "*/15,30 * * * *",
    "0 0 L,L * *",
    "0 0 * * L",
    "0 0 * * 1#6",
    "0 0 * * 5L#2",
    "0 0 * * MON-SUN",
    "0 0 * JANUARY *",
    "0 0 * * MONDAY",
  ])("%s", (text) => {
    expectSameAsLibrary(text, [
      Date.UTC(2023, 11, 31, 23, 59, 59, 999),
      Date.UTC(2024, 1, 28, 23, 59),
      Date.UTC(2024, 1, 29, 0, 0),
      Date.UTC(2100, 1, 28, 12, 0),
      Date.UTC(2000, 1, 28, 23, 59, 30),
      Date.UTC(2025, 3, 30, 23, 59),
    ]);
  });
});

describe("nextFiring and latestFiring", () => {
  it("skip straight to rare firings, across a century that is not a leap year", () => {
    // Prepare: a fifth Monday in February needs a leap year whose February starts on a Monday.
    const rare = parseCronFields(["0", "0", "*", "2", "1#5"], "seed");
    const leapDay = parseCronFields(["0", "0", "29", "2", "*"], "seed");
    if (!rare.ok || !leapDay.ok) throw new Error("test expressions do not parse");

    // Act
    const afterCentury = nextFiring(rare.value, Date.UTC(2090, 0, 1));
    const beforeCentury = latestFiring(rare.value, Date.UTC(2110, 0, 1));
    const nextLeapDay = nextFiring(leapDay.value, Date.UTC(2096, 2, 1));

    // Assess: 2100 is not a leap year, so 2072 is followed by 2112, and 2096 by 2104.
    expect(iso(afterCentury)).toBe("2112-02-29T00:00:00.000Z");
    expect(iso(beforeCentury)).toBe("2072-02-29T00:00:00.000Z");
    expect(iso(nextLeapDay)).toBe("2104-02-29T00:00:00.000Z");
  });

  it("give up after 400 years on fields that never fire", () => {
    // Prepare: 30 February, built by hand because parseCronFields refuses it.
    const never: CronFields = {
      minutes: [0],
      hours: [0],
      months: 1 << 2,
      days: 1 << 29,
      lastDay: false,
      weekdays: 0x7f,
      lastWeekdays: 0,
      occurrence: 0,
      daysRestricted: true,
      weekdaysRestricted: false,
    };

    // Act
    const next = nextFiring(never, Date.UTC(2025, 0, 1));
    const previous = latestFiring(never, Date.UTC(2025, 0, 1));

    // Assess
    expect(next).toBeUndefined();
    expect(previous).toBeUndefined();
  });

  it("refuse fields that never fire, naming none of them", () => {
    // Act
    const result = parseCronFields(["0", "0", "30", "2", "*"], "seed");

    // Assess
    expect(result).toMatchObject({ ok: false, field: undefined });
  });
});
