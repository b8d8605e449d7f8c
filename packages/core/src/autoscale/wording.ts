/**
 * A measured number as decision texts show it: at most two decimals, trailing zeros dropped
 * (`2.7166333333333332` -> `2.72`, `3` -> `3`); a positive value that would round to 0 reads
 * `<0.01`, so a decision made on it does not seem to be made on nothing.
 */
export function readableNumber(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value);
  const rounded = Math.round(value * 100) / 100;
  if (rounded === 0) return value > 0 ? "<0.01" : "0";
  return String(rounded);
}
