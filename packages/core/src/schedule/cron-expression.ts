/**
 * Five-field cron expressions, parsed into field sets and iterated minute by minute in UTC over
 * wall-clock time (time zones and DST are the caller's: see cron.ts and wall-clock.ts).
 *
 * What is accepted, and what it means, is what the cron library used before accepted (held to it by
 * test/schedule/cron-differential.test.ts); this replaced it to keep it and its date library out
 * of cold starts: `*`, `?`, numbers, lists, ranges, steps (`*\/15`, `1-30/5`,
 * `5/10`), month and weekday names, day-of-week 0-7 (0 and 7 are Sunday), `L` in day-of-month,
 * `nL` and `n#k` in day-of-week, and hashed `H` items. Its quirks are kept where they decide
 * acceptance: a value listed twice is refused, and a day-of-week 7 written alone counts as a
 * second Sunday next to 0. When both day fields are restricted (anything but a bare `*` or `?`) a
 * day matches either one, as in Vixie cron.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1440;
/** 1970-01-01 was a Thursday. */
const EPOCH_WEEKDAY = 4;
/**
 * The Gregorian calendar repeats every 400 years (146097 days, a whole number of weeks), so an
 * expression that fires at all fires within any 4800 consecutive months.
 */
const SEARCH_MONTHS = 400 * 12 + 1;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A parsed expression as sets of allowed values; bit n of a mask stands for value n. */
export interface CronFields {
  /** Sorted, unique. */
  readonly minutes: readonly number[];
  /** Sorted, unique. */
  readonly hours: readonly number[];
  /** Bit m for month m (1-12). */
  readonly months: number;
  /** Bit d - 1 for day of month d. */
  readonly days: number;
  /** `L`: the last day of the month. */
  readonly lastDay: boolean;
  /** Bit w for weekday w, 0 = Sunday. */
  readonly weekdays: number;
  /** `nL`: bit w for "the last weekday w of the month". */
  readonly lastWeekdays: number;
  /** `#k`: `weekdays` match only their k-th occurrence in the month; 0 when absent. */
  readonly occurrence: number;
  /** Day-of-month is anything but `*` or `?`. */
  readonly daysRestricted: boolean;
  /** Day-of-week is anything but `*` or `?`. */
  readonly weekdaysRestricted: boolean;
}

export type CronFieldsResult =
  | { ok: true; value: CronFields }
  | {
      ok: false;
      /** Index (0-4) of the field at fault, or undefined when the fields are valid but never fire together. */
      field: number | undefined;
      reason: string;
    };

interface FieldSpec {
  min: number;
  max: number;
  /** Names of min, min + 1, ... (upper case). */
  names?: readonly string[];
  nameKind?: string;
}

const MINUTE: FieldSpec = { min: 0, max: 59 };
const HOUR: FieldSpec = { min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { min: 1, max: 31 };
const MONTH: FieldSpec = {
  min: 1,
  max: 12,
  names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  nameKind: "month name (JAN-DEC)",
};
const DAY_OF_WEEK: FieldSpec = {
  min: 0,
  max: 7,
  names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
  nameKind: "day name (SUN-SAT)",
};

class InvalidField extends Error {}

/**
 * One pseudo-random number in [0, 1) per field (minute, hour, day-of-month, month, day-of-week),
 * seeded by the text: FNV-1a into mulberry32, drawn as the library used before drew them (for a
 * seconds field first, then month before day-of-month). The same draws keep `H` schedules saved
 * before the switch on their minutes.
 */
function hashDraws(seed: string): number[] {
  let state = 2166136261 >>> 0;
  for (let i = 0; i < seed.length; i++) {
    state ^= seed.charCodeAt(i);
    state = Math.imul(state, 16777619);
  }
  state >>>= 0;
  const draws: number[] = [];
  for (let i = 0; i < 6; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    draws.push(((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  const [, minute = 0, hour = 0, month = 0, dayOfMonth = 0, dayOfWeek = 0] = draws;
  return [minute, hour, dayOfMonth, month, dayOfWeek];
}

function rangeText(spec: FieldSpec): string {
  return `${spec.min}-${spec.max}`;
}

function fieldValue(token: string, spec: FieldSpec): number {
  if (/^\d+$/.test(token)) return Number(token);
  if (spec.names !== undefined && /^[a-z]{3}$/i.test(token)) {
    const index = spec.names.indexOf(token.toUpperCase());
    if (index >= 0) return spec.min + index;
    throw new InvalidField(`"${token}" is not a ${spec.nameKind}`);
  }
  const names = spec.nameKind === undefined ? "" : ` or a ${spec.nameKind}`;
  throw new InvalidField(`"${token}" is not a number ${rangeText(spec)}${names}`);
}

function checkInRange(value: number, spec: FieldSpec): void {
  if (value < spec.min || value > spec.max) {
    throw new InvalidField(`${value} is outside ${rangeText(spec)}`);
  }
}

function stepOf(token: string, item: string): number {
  if (!/^\d+$/.test(token) || Number(token) < 1) {
    throw new InvalidField(`the step in "${item}" must be a whole number of at least 1`);
  }
  return Number(token);
}

/** The values of `H`, `H/step`, `H(lo-hi)` and `H(lo-hi)/step`, picked by `draw`. */
function hashedValues(item: string, spec: FieldSpec, draw: number): number[] | undefined {
  const match = /^H(?:\((\d+)-(\d+)\))?(?:\/(\d+))?$/.exec(item);
  if (match === null) return undefined;
  const [, lowText, highText, stepText] = match;
  let low = spec.min;
  let high = spec.max;
  if (lowText !== undefined && highText !== undefined) {
    const wantedLow = Number(lowText);
    const wantedHigh = Number(highText);
    if (wantedLow > wantedHigh) throw new InvalidField(`the range in "${item}" runs backwards`);
    // A range reaching past the field is narrowed to it.
    low = Math.max(wantedLow, spec.min);
    high = Math.min(wantedHigh, spec.max);
    if (low > high) throw new InvalidField(`the range in "${item}" has no value in ${rangeText(spec)}`);
  }
  const single = Math.floor(draw * (high - low + 1)) + low;
  if (stepText === undefined) return [single];
  const step = stepOf(stepText, item);
  const values: number[] = [];
  for (let value = Math.floor(low / step) * step + Math.floor(draw * step); value <= high; value += step) {
    if (value >= low) values.push(value);
  }
  // A step wider than the range may leave no aligned value in it: one hashed value instead.
  return values.length > 0 ? values : [single];
}

/** `lo-hi/step`; a day-of-week range that reaches 7 also yields 0, as both are Sunday. */
function rangeValues(low: number, high: number, step: number, item: string, spec: FieldSpec): number[] {
  checkInRange(low, spec);
  checkInRange(high, spec);
  if (low > high) throw new InvalidField(`the range "${item}" runs backwards (${low} > ${high})`);
  const values: number[] = [];
  if (spec === DAY_OF_WEEK && high === 7 && (high - low) % step === 0) values.push(0);
  for (let value = low; value <= high; value += step) {
    if (value !== 0 || !values.includes(0)) values.push(value);
  }
  return values;
}

interface ParsedField {
  values: number[];
  /** `L` items as written after names are resolved: `L` in day-of-month, `5L` in day-of-week. */
  lasts: string[];
  occurrence: number;
}

function parseField(text: string, spec: FieldSpec, draw: number): ParsedField {
  let list = text;
  let occurrence = 0;
  if (spec === DAY_OF_WEEK && text.includes("#")) {
    const [weekday, nth, ...rest] = text.split("#");
    if (/[,\-/L]/.test(text) || rest.length > 0 || weekday === "") {
      throw new InvalidField('"#" takes one weekday before it and nothing else, e.g. "MON#2"');
    }
    if (!/^\d+$/.test(nth ?? "") || Number(nth) < 1 || Number(nth) > 5) {
      throw new InvalidField(`the occurrence after "#" must be 1-5, e.g. "MON#2" (the second Monday)`);
    }
    list = weekday ?? "";
    occurrence = Number(nth);
  }

  const seen = new Set<number>();
  const values: number[] = [];
  const lasts: string[] = [];
  const add = (value: number, item: string) => {
    if (seen.has(value)) {
      const what = spec === DAY_OF_WEEK && value === 0 ? "Sunday (0 or 7)" : String(value);
      throw new InvalidField(`${what} is listed twice (in "${item}" and before it); list each value once`);
    }
    seen.add(value);
    values.push(value);
  };
  const addLast = (last: string) => {
    if (lasts.includes(last)) throw new InvalidField(`"${last}" is listed twice`);
    lasts.push(last);
  };
  // A day-of-week written alone is taken modulo 7; in a range 7 stays 7 (see rangeValues).
  const single = (value: number) => (spec === DAY_OF_WEEK ? value % 7 : value);

  for (const item of list.split(",")) {
    if (item === "") throw new InvalidField("the list has an empty item (a doubled or trailing comma)");
    const hashed = hashedValues(item, spec, draw);
    if (hashed !== undefined) {
      for (const value of hashed) add(single(value), item);
      continue;
    }
    if (spec === DAY_OF_MONTH && item === "L") {
      addLast("L");
      continue;
    }
    const lastWeekday = spec === DAY_OF_WEEK ? /^(.+)L$/.exec(item) : null;
    if (lastWeekday !== null) {
      const token = lastWeekday[1] ?? "";
      if (!/^([0-7]|[a-z]{3}|H)$/i.test(token)) {
        throw new InvalidField(`"${item}" is not "<weekday>L" (the last such weekday), e.g. "5L" or "FRIL"`);
      }
      addLast(`${token === "H" ? Math.floor(draw * 8) : fieldValue(token, spec)}L`);
      continue;
    }
    if (spec === DAY_OF_MONTH && item.includes("W")) {
      throw new InvalidField(`"${item}": W (nearest weekday) is not supported; list the days instead`);
    }
    if (item.includes("L") && (spec === DAY_OF_MONTH || spec === DAY_OF_WEEK)) {
      const where = spec === DAY_OF_MONTH ? 'alone, as "L"' : 'after one weekday, as in "5L"';
      throw new InvalidField(`"${item}": L (last) is allowed only ${where}`);
    }
    const parts = item.split("/");
    if (parts.length > 2) throw new InvalidField(`"${item}" has more than one step`);
    const [base = "", stepText] = parts;
    const step = stepText === undefined ? undefined : stepOf(stepText, item);
    if (base === "*" || base === "?") {
      for (const value of rangeValues(spec.min, spec.max, step ?? 1, item, spec)) add(value, item);
      continue;
    }
    if (base.includes("*") || base.includes("?")) {
      throw new InvalidField(`"${item}": * and ? stand for the whole field and take no other value`);
    }
    const bounds = base.split("-");
    if (bounds.length > 2) throw new InvalidField(`"${item}" is not a range "a-b"`);
    const [lowText = "", highText] = bounds;
    if (highText === undefined) {
      const value = fieldValue(lowText, spec);
      if (step === undefined) {
        checkInRange(value, spec);
        add(single(value), item);
      } else {
        for (const v of rangeValues(value, spec.max, step, item, spec)) add(v, item);
      }
      continue;
    }
    if (lowText === "" || highText === "") throw new InvalidField(`"${item}" is not a range "a-b"`);
    const range = rangeValues(fieldValue(lowText, spec), fieldValue(highText, spec), step ?? 1, item, spec);
    for (const value of range) add(value, item);
  }
  return { values, lasts, occurrence };
}

function maskOf(values: readonly number[], shift = 0): number {
  let mask = 0;
  for (const value of values) mask |= 1 << (value - shift);
  return mask;
}

const SPECS = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];

/**
 * Parses the five fields (minute hour day-of-month month day-of-week). `hashSeed` picks the
 * values of `H` items: the same seed gives the same values. Never throws.
 */
export function parseCronFields(fields: readonly string[], hashSeed: string): CronFieldsResult {
  if (fields.length !== 5) return { ok: false, field: undefined, reason: "exactly 5 fields are needed" };
  const draws = hashDraws(hashSeed);
  const parsed: ParsedField[] = [];
  for (const [index, spec] of SPECS.entries()) {
    try {
      parsed.push(parseField(fields[index] ?? "", spec, draws[index] ?? 0));
    } catch (error) {
      if (!(error instanceof InvalidField)) throw error;
      return { ok: false, field: index, reason: error.message };
    }
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parsed as [
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
    ParsedField,
  ];
  const unrestricted = (text: string | undefined) => text === "*" || text === "?";
  const value: CronFields = {
    minutes: [...minute.values].sort((a, b) => a - b),
    hours: [...hour.values].sort((a, b) => a - b),
    months: maskOf(month.values),
    days: maskOf(dayOfMonth.values, 1),
    lastDay: dayOfMonth.lasts.length > 0,
    weekdays: maskOf(dayOfWeek.values.map((day) => day % 7)),
    lastWeekdays: maskOf(dayOfWeek.lasts.map((last) => Number(last[0]) % 7)),
    occurrence: dayOfWeek.occurrence,
    daysRestricted: !unrestricted(fields[2]),
    weekdaysRestricted: !unrestricted(fields[4]),
  };
  if (!firesEver(value)) {
    return {
      ok: false,
      field: undefined,
      reason: "no date matches its day-of-month, month and day-of-week together",
    };
  }
  return { ok: true, value };
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return DAYS_IN_MONTH[month - 1] ?? 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

function dayMatches(c: CronFields, day: number, monthLength: number, weekday: number): boolean {
  const byDay = ((c.days >>> (day - 1)) & 1) === 1 || (c.lastDay && day === monthLength);
  const byWeekday =
    (((c.weekdays >>> weekday) & 1) === 1 && (c.occurrence === 0 || Math.ceil(day / 7) === c.occurrence)) ||
    (((c.lastWeekdays >>> weekday) & 1) === 1 && day > monthLength - 7);
  if (c.daysRestricted && c.weekdaysRestricted) return byDay || byWeekday;
  return c.weekdaysRestricted ? byWeekday : byDay;
}

/** Whether some day matches: every month starts on every weekday, February in both lengths. */
function firesEver(c: CronFields): boolean {
  for (let month = 1; month <= 12; month++) {
    if (((c.months >>> month) & 1) === 0) continue;
    for (const length of month === 2 ? [28, 29] : [daysInMonth(2001, month)]) {
      for (let firstWeekday = 0; firstWeekday < 7; firstWeekday++) {
        for (let day = 1; day <= length; day++) {
          if (dayMatches(c, day, length, (firstWeekday + day - 1) % 7)) return true;
        }
      }
    }
  }
  return false;
}

function firstTimeFrom(c: CronFields, minuteOfDay: number): number | undefined {
  const hourFrom = Math.floor(minuteOfDay / 60);
  for (const hour of c.hours) {
    if (hour < hourFrom) continue;
    const minuteFrom = hour === hourFrom ? minuteOfDay % 60 : 0;
    for (const minute of c.minutes) if (minute >= minuteFrom) return hour * 60 + minute;
  }
  return undefined;
}

function lastTimeUpTo(c: CronFields, minuteOfDay: number): number | undefined {
  const hourTo = Math.floor(minuteOfDay / 60);
  for (let h = c.hours.length - 1; h >= 0; h--) {
    const hour = c.hours[h] ?? 0;
    if (hour > hourTo) continue;
    const minuteTo = hour === hourTo ? minuteOfDay % 60 : 59;
    for (let m = c.minutes.length - 1; m >= 0; m--) {
      const minute = c.minutes[m] ?? 0;
      if (minute <= minuteTo) return hour * 60 + minute;
    }
  }
  return undefined;
}

interface CalendarDay {
  year: number;
  month: number;
  day: number;
  monthLength: number;
  /** Weekday of the 1st of the month. */
  firstWeekday: number;
}

function calendarDay(dayNumber: number): CalendarDay {
  const date = new Date(dayNumber * DAY_MS);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const day = date.getUTCDate();
  const firstWeekday = (((dayNumber - day + 1 + EPOCH_WEEKDAY) % 7) + 7) % 7;
  return { year, month, day, monthLength: daysInMonth(year, month), firstWeekday };
}

/**
 * The first firing strictly after `after` (UTC ms), or undefined when there is none in 400 years
 * (which only happens for fields parseCronFields refused). Skips whole months and days.
 */
export function nextFiring(c: CronFields, after: number): number | undefined {
  const start = Math.floor(after / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  let dayNumber = Math.floor(start / DAY_MS);
  let minuteOfDay = (start - dayNumber * DAY_MS) / MINUTE_MS;
  for (let searched = 0; searched < SEARCH_MONTHS; searched++) {
    const { month, day, monthLength, firstWeekday } = calendarDay(dayNumber);
    if (((c.months >>> month) & 1) === 1) {
      for (let d = day; d <= monthLength; d++, minuteOfDay = 0) {
        if (!dayMatches(c, d, monthLength, (firstWeekday + d - 1) % 7)) continue;
        const time = firstTimeFrom(c, minuteOfDay);
        if (time !== undefined) return (dayNumber + d - day) * DAY_MS + time * MINUTE_MS;
      }
    }
    dayNumber += monthLength - day + 1;
    minuteOfDay = 0;
  }
  return undefined;
}

/** The latest firing at or before `atOrBefore` (UTC ms), or undefined when there is none in 400 years. */
export function latestFiring(c: CronFields, atOrBefore: number): number | undefined {
  const start = Math.floor(atOrBefore / MINUTE_MS) * MINUTE_MS;
  let dayNumber = Math.floor(start / DAY_MS);
  let minuteOfDay = (start - dayNumber * DAY_MS) / MINUTE_MS;
  for (let searched = 0; searched < SEARCH_MONTHS; searched++) {
    const { month, day, monthLength, firstWeekday } = calendarDay(dayNumber);
    if (((c.months >>> month) & 1) === 1) {
      for (let d = day; d >= 1; d--, minuteOfDay = MINUTES_PER_DAY - 1) {
        if (!dayMatches(c, d, monthLength, (firstWeekday + d - 1) % 7)) continue;
        const time = lastTimeUpTo(c, minuteOfDay);
        if (time !== undefined) return (dayNumber + d - day) * DAY_MS + time * MINUTE_MS;
      }
    }
    dayNumber -= day;
    minuteOfDay = MINUTES_PER_DAY - 1;
  }
  return undefined;
}
