const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const YEAR_MS = 365.2425 * DAY_MS;

export interface ClockAnchor {
  /** For test titles, e.g. "5 years before today (2021-11-26)". */
  label: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/**
 * A fake-clock scenario written for `base` (a moment chosen for its weekday and wall-clock time, e.g.
 * Friday 19:59 in Madrid), moved by whole weeks to the same time of year `years` before and after
 * the real today. Whole weeks keep the weekday and the time of day; the date of the year moves by at
 * most half a week, so a base far from a daylight-saving change keeps its UTC offset. Suites built on it prove
 * that nothing compares the fake clock with the machine's.
 */
export function anchorsAroundToday(base: string, years = 5, today = Date.now()): ClockAnchor[] {
  const baseMs = Date.parse(base);
  if (Number.isNaN(baseMs)) throw new Error(`not an ISO time: ${base}`);
  const yearsFromBaseToToday = Math.round((today - baseMs) / YEAR_MS);
  return [-years, years].map((offset) => {
    const weeks = Math.round(((yearsFromBaseToToday + offset) * YEAR_MS) / WEEK_MS);
    const at = baseMs + weeks * WEEK_MS;
    const side = offset < 0 ? "before" : "after";
    return { label: `${years} years ${side} today (${new Date(at).toISOString().slice(0, 10)})`, at };
  });
}
