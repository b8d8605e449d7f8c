/**
 * Conversions between instants and local wall-clock time using only Intl offset lookups.
 *
 * A wall-clock time is represented as the epoch milliseconds it would have if it were UTC
 * ("wall ms"), so day and minute arithmetic on it is plain integer arithmetic.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** The largest magnitude a Date can hold; lookups are clamped so they never produce an invalid Date. */
const MAX_DATE_MS = 8.64e15;

const formatterCache = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let cached = formatterCache.get(timeZone);
  if (cached === undefined) {
    cached = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    formatterCache.set(timeZone, cached);
  }
  return cached;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: string;
}

function localParts(ms: number, timeZone: string): LocalParts {
  const fields: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) fields[part.type] = part.value;
  const year = Number(fields.year);
  return {
    // en-US counts years before 1 AD upwards with a BC era; astronomical numbering has a year 0.
    year: fields.era === "BC" ? 1 - year : year,
    month: Number(fields.month),
    day: Number(fields.day),
    hour: Number(fields.hour),
    minute: Number(fields.minute),
    second: Number(fields.second),
    weekday: fields.weekday ?? "",
  };
}

/** Date.UTC maps years 0..99 to 19xx, so the full year is set explicitly. */
function utcMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function clamp(ms: number): number {
  return Math.min(MAX_DATE_MS, Math.max(-MAX_DATE_MS, ms));
}

/** The local wall-clock time at instant `ms`, in wall ms. */
export function wallTimeAt(ms: number, timeZone: string): number {
  const wholeSecond = Math.floor(ms / 1000) * 1000;
  const p = localParts(wholeSecond, timeZone);
  return utcMs(p.year, p.month, p.day, p.hour, p.minute, p.second) + (ms - wholeSecond);
}

function offsetAt(ms: number, timeZone: string): number {
  const at = clamp(ms);
  return wallTimeAt(at, timeZone) - at;
}

/**
 * The first instant whose local wall-clock time is at or after `wall`. That one rule gives the
 * documented DST behaviour: a time inside a spring-forward gap maps to the first instant after
 * the gap, and a time repeated by a fall-back maps to its first occurrence.
 */
export function instantOfWallTime(wall: number, timeZone: string): number {
  // Any transition near `wall` is within a day of it, so these samples see the offsets on both sides.
  const offsets = new Set([
    offsetAt(wall - DAY_MS, timeZone),
    offsetAt(wall, timeZone),
    offsetAt(wall + DAY_MS, timeZone),
  ]);
  const guesses = [...offsets].map((offset) => wall - offset).sort((a, b) => a - b);
  for (const guess of guesses) {
    if (wallTimeAt(clamp(guess), timeZone) === wall) return guess;
  }
  // No instant shows `wall`: it falls in a gap. Find the transition between the guesses.
  let low = guesses[0] ?? wall;
  let high = guesses[guesses.length - 1] ?? wall;
  if (wallTimeAt(clamp(low), timeZone) >= wall) return low;
  if (wallTimeAt(clamp(high), timeZone) < wall) return high;
  // Transitions fall on whole seconds, so a second-granular search finds the exact instant.
  let lowSecond = Math.floor(low / 1000);
  let highSecond = Math.ceil(high / 1000);
  while (highSecond - lowSecond > 1) {
    const middle = Math.floor((lowSecond + highSecond) / 2);
    if (wallTimeAt(clamp(middle * 1000), timeZone) >= wall) highSecond = middle;
    else lowSecond = middle;
  }
  low = lowSecond * 1000;
  high = highSecond * 1000;
  return wallTimeAt(clamp(low), timeZone) >= wall ? low : high;
}

/**
 * A short human label for an instant in a zone, e.g. "Mon 08:00 Europe/Madrid", for status lines.
 * Throws a RangeError when `timeZone` is not a zone Intl knows (use parseTimeZone first).
 */
export function formatInZone(at: Date, timeZone: string): string {
  const p = localParts(at.getTime(), timeZone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${p.weekday} ${pad(p.hour)}:${pad(p.minute)} ${timeZone}`;
}
