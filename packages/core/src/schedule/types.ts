/** Why a window, cron expression or time zone was rejected, phrased for the person who wrote it. */
export type ScheduleError = {
  code: "invalid_window" | "invalid_cron" | "invalid_timezone";
  /** What was wrong, naming the offending part. */
  message: string;
  /** What would have been accepted. */
  expected: string;
  /** For near misses: the whole corrected value, ready to paste back. */
  suggestion?: string;
};

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ScheduleError };

/**
 * A weekly opening window in local wall-clock time. Each listed day opens at `startMinute`; when
 * `endMinute <= startMinute` the window crosses midnight and closes on the following day.
 */
export interface Window {
  /** 0 = Sunday .. 6 = Saturday, sorted and unique. */
  days: number[];
  /** Minutes after local midnight, 0..1439. */
  startMinute: number;
  /** Minutes after local midnight, 1..1440 (1440 = the next midnight). */
  endMinute: number;
  /** Canonical IANA zone the wall-clock times are read in. */
  timeZone: string;
  /** The window text as written (trimmed). */
  source: string;
}

/** A validated five-field cron expression (or accepted macro) and the zone it fires in. */
export interface CronSchedule {
  /** The expression with whitespace normalised; macros in lower case. */
  expression: string;
  timeZone: string;
}

/** The state of a schedule now and the next instant it flips. */
export interface ScheduleState {
  open: boolean;
  /** The next instant the state flips; always later than the instant asked about. */
  changesAt: Date;
  /**
   * Present when no flip was found within the look-ahead (an always-open window, runs that keep
   * overlapping): the state is unchanged at `changesAt`, which is only a moment to look again.
   */
  steady?: true;
}

/**
 * Longest window, cron expression or time zone name parsed. Real ones are under 100 characters;
 * the cap keeps every pattern applied to them (whitespace splits and trims) bounded in time.
 */
export const MAX_SCHEDULE_TEXT = 256;

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T>(
  code: ScheduleError["code"],
  message: string,
  expected: string,
  suggestion?: string,
): ParseResult<T> {
  const error: ScheduleError = { code, message, expected };
  if (suggestion !== undefined) error.suggestion = suggestion;
  return { ok: false, error };
}
