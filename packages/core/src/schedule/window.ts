import { parseTimeZone } from "./time-zone";
import { fail, MAX_SCHEDULE_TEXT, ok, type ParseResult, type Window } from "./types";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const FULL_DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const TWO_LETTER_DAYS = ["su", "mo", "tu", "we", "th", "fr", "sa"];
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];

/** Whole DAYS tokens people write that have an exact equivalent in the grammar. */
const DAY_TOKEN_ALIASES: Record<string, string> = {
  weekdays: "Mon-Fri",
  weekday: "Mon-Fri",
  weekends: "Sat,Sun",
  weekend: "Sat,Sun",
  everyday: "Daily",
  every_day: "Daily",
  all: "Daily",
  always: "Daily",
};

const EXPECTED_WINDOW = 'DAYS HH:MM-HH:MM [TZ], e.g. "Mon-Fri 08:00-20:00 Europe/Madrid"';
const EXPECTED_DAYS =
  'three-letter day names Mon..Sun (any case): a day "Mon", a range "Mon-Fri" or "Fri-Mon", a list "Mon,Wed,Fri", a mix "Mon-Wed,Fri", or "Daily" / "*" for every day';
const EXPECTED_TIMES =
  'HH:MM-HH:MM with two-digit hours and minutes from 00:00 to 23:59 (the end may be 24:00), e.g. "08:00-20:00"; an end earlier than the start crosses midnight';

type Step<T> = { ok: true; value: T } | { ok: false; message: string; expected: string };

function dayIndex(name: string): number | undefined {
  const index = DAY_NAMES.findIndex((day) => day.toLowerCase() === name.toLowerCase());
  return index === -1 ? undefined : index;
}

/** The three-letter name someone most likely meant by a longer, shorter or slightly misspelt day. */
function nearestDayName(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.$/, "");
  const exact = dayIndex(lower);
  if (exact !== undefined) return DAY_NAMES[exact];
  if (lower === "weds") return "Wed";
  if (lower.length >= 3) {
    const prefixOf = FULL_DAY_NAMES.findIndex((full) => full.startsWith(lower));
    if (prefixOf !== -1) return DAY_NAMES[prefixOf];
  }
  const twoLetter = TWO_LETTER_DAYS.indexOf(lower);
  if (twoLetter !== -1) return DAY_NAMES[twoLetter];
  if (lower.length === 3) {
    // Only a single one-letter-off match is a safe guess ("Sut" could be Sat or Sun).
    const near = DAY_NAMES.filter((day) => {
      const d = day.toLowerCase();
      return [0, 1, 2].filter((i) => d[i] !== lower[i]).length === 1;
    });
    if (near.length === 1) return near[0];
  }
  return undefined;
}

function parseDays(token: string): Step<number[]> {
  if (token === "*" || token.toLowerCase() === "daily") return { ok: true, value: [...EVERY_DAY] };
  const days = new Set<number>();
  for (const item of token.split(",")) {
    if (item === "") {
      return { ok: false, message: `empty entry in the day list "${token}"`, expected: EXPECTED_DAYS };
    }
    const ends = item.split("-");
    if (ends.length > 2) {
      return { ok: false, message: `"${item}" is not a day or a range of two days`, expected: EXPECTED_DAYS };
    }
    const indexes: number[] = [];
    for (const end of ends) {
      const index = dayIndex(end);
      if (index === undefined) {
        const near = nearestDayName(end);
        const alias = DAY_TOKEN_ALIASES[token.toLowerCase()];
        const hint =
          near !== undefined ? `; use the three-letter name "${near}"` : alias ? `; write "${alias}"` : "";
        return { ok: false, message: `unknown day "${end}"${hint}`, expected: EXPECTED_DAYS };
      }
      indexes.push(index);
    }
    const first = indexes[0] ?? 0;
    const last = indexes[indexes.length - 1] ?? first;
    // Ranges may wrap past Saturday: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let day = first; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === last) break;
    }
  }
  return { ok: true, value: [...days].sort((a, b) => a - b) };
}

/** Minutes after midnight for a strict HH:MM, or undefined. */
function clockMinutes(text: string, allowMidnightEnd: boolean): number | undefined {
  const match = /^(\d{2}):(\d{2})$/.exec(text);
  if (match === null) return undefined;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (hours === 24 && minutes === 0 && allowMidnightEnd) return 1440;
  if (hours > 23 || minutes > 59) return undefined;
  return hours * 60 + minutes;
}

/** A loosely written clock time ("8:00", "0800", "8.30", "8pm") as HH:MM, or undefined. */
function nearestClock(text: string, isEnd: boolean): string | undefined {
  const match = /^(\d{1,2})(?:[:.hH]?(\d{2}))?\s*([aApP][mM])?$/.exec(text);
  if (match === null) return undefined;
  let hours = Number(match[1]);
  const minutes = Number(match[2] ?? "0");
  const meridiem = match[3]?.toLowerCase();
  if (meridiem !== undefined) {
    if (hours < 1 || hours > 12) return undefined;
    hours = (hours % 12) + (meridiem === "pm" ? 12 : 0);
  }
  if (minutes > 59 || hours > 24 || (hours === 24 && (minutes !== 0 || !isEnd))) return undefined;
  return `${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`;
}

function parseTimes(token: string): Step<{ startMinute: number; endMinute: number }> {
  const ends = token.split("-");
  if (ends.length !== 2) {
    return { ok: false, message: `time range "${token}" is not HH:MM-HH:MM`, expected: EXPECTED_TIMES };
  }
  const [startText = "", endText = ""] = ends;
  const labelled = [
    ["start", startText, false],
    ["end", endText, true],
  ] as const;
  const minutes: number[] = [];
  for (const [label, text, isEnd] of labelled) {
    const value = clockMinutes(text, isEnd);
    if (value === undefined) {
      const near = nearestClock(text, isEnd);
      const hint = near !== undefined && near !== text ? `; write "${near}"` : "";
      const why = /^\d{2}:\d{2}$/.test(text)
        ? isEnd
          ? "is out of range (00:00..23:59, or 24:00)"
          : "is out of range (00:00..23:59)"
        : "is not HH:MM";
      return { ok: false, message: `${label} time "${text}" ${why}${hint}`, expected: EXPECTED_TIMES };
    }
    minutes.push(value);
  }
  const [startMinute = 0, end = 0] = minutes;
  if (startMinute === end) {
    return {
      ok: false,
      message: `the window starts and ends at ${startText}, so its length is ambiguous; for an all-day window write 00:00-24:00`,
      expected: EXPECTED_TIMES,
    };
  }
  // An end of 00:00 means the coming midnight, the same as 24:00.
  return { ok: true, value: { startMinute, endMinute: end === 0 ? 1440 : end } };
}

function parseStrict(text: string, defaultTimeZone: string | undefined): ParseResult<Window> {
  const source = text.trim();
  if (source === "") return fail("invalid_window", "the window is empty", EXPECTED_WINDOW);
  const tokens = source.split(/\s+/);
  const [daysToken = "", timesToken, zoneToken, ...extra] = tokens;
  if (timesToken === undefined) {
    return fail("invalid_window", `the window "${source}" has no time range`, EXPECTED_WINDOW);
  }
  if (extra.length > 0) {
    return fail(
      "invalid_window",
      `unexpected "${extra.join(" ")}": a window has at most three space-separated parts (days, times, time zone)`,
      EXPECTED_WINDOW,
    );
  }
  if (/\d:\d/.test(daysToken)) {
    return fail(
      "invalid_window",
      `the window starts with "${daysToken}" instead of its days; put the days first`,
      EXPECTED_WINDOW,
    );
  }
  const days = parseDays(daysToken);
  if (!days.ok) return fail("invalid_window", days.message, days.expected);
  const times = parseTimes(timesToken);
  if (!times.ok) return fail("invalid_window", times.message, times.expected);
  const zoneText = zoneToken ?? defaultTimeZone ?? "UTC";
  const zone = parseTimeZone(zoneText);
  if (!zone.ok) {
    const where = zoneToken === undefined ? "default time zone" : "window time zone";
    return fail(
      "invalid_timezone",
      `${where}: ${zone.error.message}`,
      zone.error.expected,
      zone.error.suggestion,
    );
  }
  return ok({ days: days.value, ...times.value, timeZone: zone.value, source });
}

function repairDays(token: string): string {
  if (parseDays(token).ok) return token;
  const alias = DAY_TOKEN_ALIASES[token.toLowerCase()];
  if (alias !== undefined) return alias;
  return token
    .split(",")
    .map((item) =>
      item
        .split("-")
        .map((name) => nearestDayName(name) ?? name)
        .join("-"),
    )
    .join(",");
}

function repairTimes(token: string): string | undefined {
  const ends = token.split("-");
  if (ends.length !== 2) return undefined;
  const start = nearestClock(ends[0] ?? "", false);
  const end = nearestClock(ends[1] ?? "", true);
  if (start === undefined || end === undefined) return undefined;
  // Equal ends are refused; the nearest valid window is the whole day.
  return start === end ? "00:00-24:00" : `${start}-${end}`;
}

/** The whole window rewritten to fix every near miss found, when the result is a valid window. */
function suggestWindow(source: string, defaultTimeZone: string | undefined): string | undefined {
  const tidied = source
    .replace(/[\u2013\u2014]/g, "-")
    .replace(/\s+to\s+/gi, "-")
    .replace(/\s*([-,])\s*/g, "$1");
  const tokens = tidied.split(/\s+/).filter((token) => token !== "");
  // A bare time range means every day.
  if (tokens[0] !== undefined && repairTimes(tokens[0]) !== undefined) tokens.unshift("Daily");
  const [daysToken, timesToken, ...zoneWords] = tokens;
  if (daysToken === undefined || timesToken === undefined) return undefined;
  const times = repairTimes(timesToken);
  if (times === undefined) return undefined;
  const parts = [repairDays(daysToken), times];
  if (zoneWords.length > 0) {
    // Zone names use underscores where people type spaces ("America/New York").
    const zoneText = zoneWords.join("_");
    const zone = parseTimeZone(zoneText);
    parts.push(zone.ok ? zoneText : (zone.error.suggestion ?? zoneText));
  }
  const candidate = parts.join(" ");
  return candidate !== source && parseStrict(candidate, defaultTimeZone).ok ? candidate : undefined;
}

/**
 * Parses a weekly opening window.
 *
 * Grammar: `DAYS HH:MM-HH:MM [TZ]`, e.g. `Mon-Fri 08:00-20:00 Europe/Madrid`.
 * - DAYS: three-letter English day names, case-insensitive (`Mon`..`Sun`); ranges `Mon-Fri`;
 *   ranges that wrap past Saturday `Fri-Mon` (Fri, Sat, Sun, Mon); comma lists `Mon,Wed,Fri`;
 *   mixes `Mon-Wed,Fri`; `Daily` or `*` for every day.
 * - HH:MM-HH:MM: two-digit 24-hour times, start 00:00..23:59, end 00:00..23:59 or 24:00. An end
 *   earlier than the start crosses midnight, and the window belongs to the day it starts on:
 *   `Fri 22:00-02:00` runs from Friday 22:00 to Saturday 02:00. An end of 00:00 means the coming
 *   midnight (same as 24:00). Equal start and end is an error; all day is `00:00-24:00`.
 * - TZ: optional IANA zone (see parseTimeZone); otherwise `defaultTimeZone`, otherwise UTC.
 *
 * Times are local wall-clock times. On a spring-forward day a time inside the gap means the first
 * instant after it (02:30 -> 03:00 in Europe/Madrid); a time repeated by a fall-back means its
 * first occurrence.
 *
 * Never throws. Errors name the offending part and, for near misses ("8:00", "Monday",
 * "Europe/Madird", a start equal to the end), suggest the whole corrected window.
 */
export function parseWindow(text: string, defaultTimeZone?: string): ParseResult<Window> {
  if (typeof text !== "string") return fail("invalid_window", "the window must be a string", EXPECTED_WINDOW);
  if (text.length > MAX_SCHEDULE_TEXT) {
    return fail("invalid_window", `the window is longer than ${MAX_SCHEDULE_TEXT} characters`, EXPECTED_WINDOW);
  }
  const result = parseStrict(text, defaultTimeZone);
  if (result.ok) return result;
  const zoneFromText = text.trim().split(/\s+/).length >= 3;
  // A bad default zone is the caller's other field, so its own suggestion is the useful one.
  if (result.error.code === "invalid_timezone" && !zoneFromText) return result;
  const suggestion = suggestWindow(text.trim(), defaultTimeZone);
  const { suggestion: _partial, ...error } = result.error;
  return { ok: false, error: suggestion === undefined ? error : { ...error, suggestion } };
}
