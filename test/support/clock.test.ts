import { describe, expect, it } from "vitest";
import { anchorsAroundToday } from "./clock";

describe("anchorsAroundToday", () => {
  it("moves the base by whole weeks to its time of year, years before and after the given today", () => {
    // Prepare
    const base = "2026-11-27T18:59:00Z";
    const today = Date.parse("2031-03-10T12:00:00Z");

    // Act
    const [before, after] = anchorsAroundToday(base, 5, today);

    // Assess
    for (const anchor of [before, after]) {
      expect(Math.abs(((anchor?.at ?? 0) - Date.parse(base)) % (7 * 86_400_000))).toBe(0);
      expect(new Date(anchor?.at ?? 0).toISOString().slice(11)).toBe("18:59:00.000Z");
    }
    // 2031-03 is about 4 years after the base: 5 years before and after it are 2025-11 and 2035-11.
    expect(Math.abs((before?.at ?? 0) - Date.parse("2025-11-27T18:59:00Z"))).toBeLessThanOrEqual(
      3.5 * 86_400_000,
    );
    expect(Math.abs((after?.at ?? 0) - Date.parse("2035-11-27T18:59:00Z"))).toBeLessThanOrEqual(
      3.5 * 86_400_000,
    );
    expect(before?.label).toMatch(/^5 years before today \(2025-11-\d\d\)$/);
  });

  it("refuses a base that is not a time", () => {
    expect(() => anchorsAroundToday("tomorrow")).toThrow(/not an ISO time/);
  });
});
