import { type CronFields, latestFiring, nextFiring, parseCronFields } from "./cron-expression";
import { closestMatch } from "./edit-distance";
import { parseTimeZone } from "./time-zone";
import { type CronSchedule, fail, MAX_SCHEDULE_TEXT, ok, type ParseResult, type ScheduleState } from "./types";
import { instantOfWallTime, MINUTE_MS, wallTimeAt } from "./wall-clock";

const EXPECTED_CRON =
  'five fields "minute hour day-of-month month day-of-week", e.g. "0 2 * * *" (02:00 every day), or one of @hourly, @daily, @weekly, @monthly, @yearly';

/** The accepted macros and the five fields each stands for. */
const MACRO_FIELDS: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};
const MACROS = Object.keys(MACRO_FIELDS);

/** Macros other cron dialects know that this product refuses, with the five-field form that is meant. */
const MACRO_REPLACEMENTS: Record<string, string> = {
  "@weekdays": "0 0 * * 1-5",
  "@weekends": "0 0 * * 0,6",
  "@minutely": "* * * * *",
};

const FIELDS = [
  { name: "minute", allowed: "0-59" },
  { name: "hour", allowed: "0-23" },
  { name: "day-of-month", allowed: "1-31 or L" },
  { name: "month", allowed: "1-12 or JAN-DEC" },
  { name: "day-of-week", allowed: "0-7 or SUN-SAT (0 and 7 are Sunday)" },
] as const;

/**
 * Bounds on merging overlapping runs. Past either, cronRunState reports the run's current end as
 * a re-check point instead of searching on: a run that has not ended a month ahead (or after
 * thousands of back-to-back firings) is, for a controller, open.
 */
const MAX_RUN_EXTENSIONS = 2000;
const RUN_LOOKAHEAD_MS = 31 * 24 * 60 * MINUTE_MS;

/**
 * The fields of an expression parseCron accepted. Firings are computed in UTC as local wall-clock
 * times with no DST involved and only then mapped to instants by the same rule windows use, so
 * cron and windows agree on DST and the results do not depend on where iteration started.
 */
function compiled(expression: string): CronFields {
  const fields = (MACRO_FIELDS[expression] ?? expression).split(" ");
  // H fields are hashed; seeding with the expression keeps every parse of it on the same minutes.
  const parsed = parseCronFields(fields, expression);
  if (!parsed.ok) throw new Error(`schedule: "${expression}" is not a cron expression from parseCron`);
  return parsed.value;
}

/** The first wall-clock firing strictly after `wall`; parseCron refuses expressions that never fire. */
function wallFireAfter(c: CronFields, wall: number): number {
  const next = nextFiring(c, wall);
  if (next === undefined) throw new Error("schedule: cron expression never fires");
  return next;
}

function fieldsOnlySuggestion(fields: string[]): string | undefined {
  return checkFiveFields(fields).ok ? fields.join(" ") : undefined;
}

function checkFiveFields(fields: string[]): ParseResult<string> {
  const expression = fields.join(" ");
  const parsed = parseCronFields(fields, expression);
  if (parsed.ok) return ok(expression);
  const field = parsed.field === undefined ? undefined : FIELDS[parsed.field];
  if (parsed.field === undefined || field === undefined) {
    return fail(
      "invalid_cron",
      `cron expression "${expression}" never fires: ${parsed.reason}`,
      EXPECTED_CRON,
    );
  }
  return fail(
    "invalid_cron",
    `the ${field.name} field "${fields[parsed.field]}" is invalid: ${parsed.reason}`,
    `the ${field.name} field (field ${parsed.field + 1} of 5) takes ${field.allowed}, *, lists "1,5", ranges "1-5" and steps "*/2"`,
  );
}

/**
 * Validates a cron schedule: five fields (minute hour day-of-month month day-of-week) or one of
 * @hourly, @daily, @weekly, @monthly, @yearly (@annually), evaluated in `timeZone` (default UTC).
 * Six-field (seconds) and seven-field (seconds and year) forms are refused with the five-field
 * form as the suggestion, as are @reboot and expressions that never fire (`0 0 30 2 *`).
 * Field syntax and meaning are cron-expression.ts's; this decides which forms are accepted at all
 * and names the field at fault. Never throws.
 */
export function parseCron(expression: string, timeZone = "UTC"): ParseResult<CronSchedule> {
  if (typeof expression !== "string") {
    return fail("invalid_cron", "the cron expression must be a string", EXPECTED_CRON);
  }
  if (expression.length > MAX_SCHEDULE_TEXT) {
    return fail("invalid_cron", `the cron expression is longer than ${MAX_SCHEDULE_TEXT} characters`, EXPECTED_CRON);
  }
  const zone = parseTimeZone(timeZone);
  if (!zone.ok) return zone;
  const fields = expression
    .trim()
    .split(/\s+/)
    .filter((field) => field !== "");
  const [first] = fields;
  if (first === undefined) return fail("invalid_cron", "the cron expression is empty", EXPECTED_CRON);

  if (first.startsWith("@")) {
    const macro = first.toLowerCase();
    if (fields.length > 1) {
      const suggestion = MACROS.includes(macro) ? macro : undefined;
      return fail("invalid_cron", `"${first}" takes no further fields`, EXPECTED_CRON, suggestion);
    }
    if (MACROS.includes(macro)) return ok({ expression: macro, timeZone: zone.value });
    if (macro === "@reboot") {
      return fail(
        "invalid_cron",
        "@reboot is not a schedule: workloads have no boot to run at",
        `${EXPECTED_CRON}; for an always-on workload use execution_policy "fixed"`,
      );
    }
    const suggestion = MACRO_REPLACEMENTS[macro] ?? closestMatch(macro, MACROS);
    return fail("invalid_cron", `unknown cron macro "${first}"`, EXPECTED_CRON, suggestion);
  }

  if (fields.length === 6 || fields.length === 7) {
    const kind = fields.length === 6 ? "a leading seconds field is" : "seconds and year fields are";
    return fail(
      "invalid_cron",
      `cron expression has ${fields.length} fields; ${kind} not supported, schedules are per minute`,
      EXPECTED_CRON,
      fieldsOnlySuggestion(fields.slice(1, 6)),
    );
  }
  if (fields.length !== 5) {
    return fail(
      "invalid_cron",
      `cron expression has ${fields.length} field${fields.length === 1 ? "" : "s"}; exactly 5 are needed`,
      EXPECTED_CRON,
    );
  }
  const checked = checkFiveFields(fields);
  if (!checked.ok) return checked;
  return ok({ expression: checked.value, timeZone: zone.value });
}

/**
 * The first firing strictly after `after`. Firings follow local wall-clock time with the same DST
 * rule as windows: a time inside a spring-forward gap fires at the first instant after the gap
 * (a daily 02:30 fires at 03:00 EDT on New York's spring-forward day; several times in one gap
 * fire once), and a time repeated by a fall-back fires once, at its first occurrence. That holds
 * for frequent expressions too: `*\/15 * * * *` does not fire during the repeated hour's second
 * pass. Throws when `c` did not come from parseCron.
 */
export function nextCronFire(c: CronSchedule, after: Date): Date {
  const ms = after.getTime();
  const fields = compiled(c.expression);
  // Firings at or before the current wall time have already happened; after a fall-back a few
  // later wall times have too (in the first pass), so keep going until one is really ahead.
  let wall = wallTimeAt(ms, c.timeZone);
  for (;;) {
    wall = wallFireAfter(fields, wall);
    const instant = instantOfWallTime(wall, c.timeZone);
    if (instant > ms) return new Date(instant);
  }
}

function latestFireAtOrBefore(fields: CronFields, timeZone: string, ms: number): number | undefined {
  let wall = latestFiring(fields, wallTimeAt(ms, timeZone));
  if (wall === undefined) return undefined;
  let instant = instantOfWallTime(wall, timeZone);
  // During a fall-back's second pass, later wall times already fired in the first pass.
  for (;;) {
    const laterWall = wallFireAfter(fields, wall);
    const laterInstant = instantOfWallTime(laterWall, timeZone);
    if (laterInstant > ms) return instant;
    wall = laterWall;
    instant = laterInstant;
  }
}

/** The latest firing at or before `atOrBefore`, or undefined when none falls in the 400 years before it. */
export function previousCronFire(c: CronSchedule, atOrBefore: Date): Date | undefined {
  const previous = latestFireAtOrBefore(compiled(c.expression), c.timeZone, atOrBefore.getTime());
  return previous === undefined ? undefined : new Date(previous);
}

/**
 * Whether a cron-started run is in progress at `at`, and when that next changes. Each firing
 * starts a run of `runMinutes`; a firing during a run (or exactly as it ends) extends it, so
 * overlapping runs merge into one and `changesAt` is when the merged run really ends. A merged run
 * still going a month ahead (`0 2 * * *` lasting a week never ends) reports `open: true,
 * steady: true` with a `changesAt` at which it is still open: a moment to look again.
 */
export function cronRunState(c: CronSchedule, runMinutes: number, at: Date): ScheduleState {
  if (!(runMinutes > 0) || !Number.isFinite(runMinutes)) {
    throw new RangeError(`schedule: runMinutes must be a positive number, got ${runMinutes}`);
  }
  const runMs = runMinutes * MINUTE_MS;
  const ms = at.getTime();
  const fields = compiled(c.expression);
  const started = latestFireAtOrBefore(fields, c.timeZone, ms);
  if (started === undefined || started + runMs <= ms) {
    return { open: false, changesAt: nextCronFire(c, at) };
  }
  let lastFire = started;
  let end = started + runMs;
  for (let step = 0; step < MAX_RUN_EXTENSIONS && end - ms <= RUN_LOOKAHEAD_MS; step++) {
    const latest = latestFireAtOrBefore(fields, c.timeZone, end);
    if (latest === undefined || latest <= lastFire) return { open: true, changesAt: new Date(end) };
    lastFire = latest;
    end = latest + runMs;
  }
  return { open: true, changesAt: new Date(end), steady: true };
}
