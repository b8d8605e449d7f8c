import { closestMatch } from "./edit-distance";
import { fail, MAX_SCHEDULE_TEXT, ok, type ParseResult } from "./types";

const EXPECTED_ZONE =
  'an IANA time zone name such as "Europe/Madrid", "America/New_York" or "UTC" (case-sensitive)';

/**
 * Current IANA spellings that this runtime's ICU only knows as aliases, so they are missing from
 * Intl.supportedValuesOf but are what people type.
 */
const MODERN_NAMES = [
  "Asia/Kolkata",
  "Europe/Kyiv",
  "Asia/Ho_Chi_Minh",
  "Asia/Kathmandu",
  "Asia/Yangon",
  "America/Nuuk",
  "Atlantic/Faroe",
  "Pacific/Kanton",
];

/**
 * Abbreviations name an offset, not a place with DST rules, and ICU resolves some of them
 * surprisingly (BST is Dhaka, EST has no daylight saving), so they are refused with the zone
 * people usually mean.
 */
const ABBREVIATIONS: Record<string, string> = {
  EST: "America/New_York",
  EDT: "America/New_York",
  CST: "America/Chicago",
  CDT: "America/Chicago",
  MST: "America/Denver",
  MDT: "America/Denver",
  PST: "America/Los_Angeles",
  PDT: "America/Los_Angeles",
  AKST: "America/Anchorage",
  AKDT: "America/Anchorage",
  HST: "Pacific/Honolulu",
  BST: "Europe/London",
  WET: "Europe/Lisbon",
  WEST: "Europe/Lisbon",
  CET: "Europe/Paris",
  CEST: "Europe/Paris",
  MET: "Europe/Paris",
  EET: "Europe/Athens",
  EEST: "Europe/Athens",
  MSK: "Europe/Moscow",
  IST: "Asia/Kolkata",
  SGT: "Asia/Singapore",
  HKT: "Asia/Hong_Kong",
  JST: "Asia/Tokyo",
  KST: "Asia/Seoul",
  AEST: "Australia/Sydney",
  AEDT: "Australia/Sydney",
  NZST: "Pacific/Auckland",
  NZDT: "Pacific/Auckland",
};

/** All-caps IANA names that are zones in their own right rather than abbreviations. */
const ALL_CAPS_ZONES = new Set(["UTC", "GMT", "UCT", "GB", "NZ", "PRC", "ROC", "ROK"]);

const OFFSET_PATTERN = /^(?:UTC|GMT)?\s*([+\-\u2212])\s*(\d{1,2})(?::?(\d{2}))?$/i;

/** Inputs longer than any zone name are not worth a suggestion search. */
const MAX_SUGGESTION_INPUT = 64;

let candidateCache: string[] | undefined;

function candidates(): string[] {
  candidateCache ??= ["UTC", ...Intl.supportedValuesOf("timeZone"), ...MODERN_NAMES];
  return candidateCache;
}

const resolvedCache = new Map<string, string | undefined>();

/** The zone id Intl resolves `name` to, or undefined when Intl does not know it. */
function resolveWithIntl(name: string): string | undefined {
  if (resolvedCache.has(name)) return resolvedCache.get(name);
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  // Bounded so arbitrary strings from callers cannot grow the cache without limit.
  if (resolvedCache.size < 2000) resolvedCache.set(name, resolved);
  return resolved;
}

function cityOf(zone: string): string {
  return zone.slice(zone.lastIndexOf("/") + 1);
}

/** The zone someone most plausibly meant by an unknown or mis-cased name. */
export function suggestTimeZone(input: string): string | undefined {
  if (input.length === 0 || input.length > MAX_SUGGESTION_INPUT) return undefined;
  const normalized = input.trim().replace(/\s+/g, "_");
  const lower = normalized.toLowerCase();
  const all = candidates();
  const sameIgnoringCase = all.find((zone) => zone.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  const abbreviation = ABBREVIATIONS[normalized.toUpperCase()];
  if (abbreviation !== undefined) return abbreviation;
  if (!normalized.includes("/")) {
    const city = all.find((zone) => zone.includes("/") && cityOf(zone).toLowerCase() === lower);
    if (city !== undefined) return city;
    const withCity = all.filter((zone) => zone.includes("/"));
    const nearestCity = closestMatch(normalized, withCity.map(cityOf));
    if (nearestCity !== undefined) return withCity.find((zone) => cityOf(zone) === nearestCity);
  }
  return closestMatch(normalized, all);
}

function offsetSuggestion(sign: string, hours: number, minutes: number): string | undefined {
  if (minutes !== 0) return undefined;
  if (hours === 0) return "UTC";
  // Etc/GMT zones use the POSIX sign convention: Etc/GMT-1 is one hour ahead of UTC.
  const ahead = sign !== "-" && sign !== "\u2212";
  if ((ahead && hours > 14) || (!ahead && hours > 12)) return undefined;
  return `Etc/GMT${ahead ? "-" : "+"}${hours}`;
}

/**
 * Validates an IANA time zone name through Intl and returns the runtime's canonical id for it
 * (aliases resolve: "US/Eastern" -> "America/New_York", "Etc/UTC" -> "UTC"). Names are
 * case-sensitive as in the tz database: "europe/madrid" is refused with "Europe/Madrid" as the
 * suggestion. Fixed offsets ("+01:00") and abbreviations ("CEST", "EST") are refused because they
 * carry no daylight-saving rules; each refusal suggests the nearest real zone when there is one.
 */
export function parseTimeZone(tz: string): ParseResult<string> {
  if (typeof tz !== "string")
    return fail("invalid_timezone", "the time zone must be a string", EXPECTED_ZONE);
  if (tz.length > MAX_SCHEDULE_TEXT) {
    return fail("invalid_timezone", `the time zone is longer than ${MAX_SCHEDULE_TEXT} characters`, EXPECTED_ZONE);
  }
  const input = tz.trim();
  if (input === "") return fail("invalid_timezone", "the time zone is empty", EXPECTED_ZONE, "UTC");

  const offset = OFFSET_PATTERN.exec(input);
  if (offset !== null) {
    const suggestion = offsetSuggestion(offset[1] ?? "+", Number(offset[2]), Number(offset[3] ?? "0"));
    return fail(
      "invalid_timezone",
      `"${input}" is a fixed UTC offset, not a time zone; offsets do not follow daylight saving`,
      `${EXPECTED_ZONE}; for a fixed offset use Etc/GMT-N (N hours ahead of UTC) or Etc/GMT+N (behind)`,
      suggestion,
    );
  }

  const upper = input.toUpperCase();
  const isAbbreviation =
    /^[A-Za-z]{2,5}$/.test(input) &&
    (ABBREVIATIONS[upper] !== undefined || (input === upper && !ALL_CAPS_ZONES.has(upper)));
  if (isAbbreviation) {
    return fail(
      "invalid_timezone",
      `"${input}" is an abbreviation, not a time zone; abbreviations are ambiguous and carry no daylight-saving rules`,
      `${EXPECTED_ZONE}, named after a place`,
      ABBREVIATIONS[upper],
    );
  }

  const resolved = resolveWithIntl(input);
  if (resolved === undefined || /^[+-]/.test(resolved)) {
    return fail("invalid_timezone", `unknown time zone "${input}"`, EXPECTED_ZONE, suggestTimeZone(input));
  }
  if (resolved !== input) {
    const lower = input.toLowerCase();
    const properSpelling =
      resolved.toLowerCase() === lower ? resolved : candidates().find((zone) => zone.toLowerCase() === lower);
    if (properSpelling !== undefined && properSpelling !== input) {
      return fail(
        "invalid_timezone",
        `time zone "${input}" is mis-capitalised; zone names are case-sensitive`,
        EXPECTED_ZONE,
        properSpelling,
      );
    }
  }
  return ok(resolved);
}
