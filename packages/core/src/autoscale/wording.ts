/**
 * A measured number as decision texts show it: at most two decimals, trailing zeros dropped
 * (`2.7166333333333332` -> `2.72`, `3` -> `3`), and a tiny non-zero value keeps one significant
 * digit instead of reading as 0 (`0.004`).
 */
export function readableNumber(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? Number(value.toPrecision(1)) : rounded);
}
