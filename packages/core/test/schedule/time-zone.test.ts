import { describe, expect, it } from "vitest";
import { formatInZone, parseTimeZone } from "../../src/schedule";

describe("parseTimeZone", () => {
  it.each([
    ["Europe/Madrid", "Europe/Madrid"],
    ["America/New_York", "America/New_York"],
    ["UTC", "UTC"],
    ["Etc/UTC", "UTC"],
    ["GMT", "UTC"],
    ["US/Eastern", "America/New_York"],
    ["Etc/GMT-1", "Etc/GMT-1"],
    ["  Europe/Madrid  ", "Europe/Madrid"],
  ])("accepts %j as %s", (input, canonical) => {
    // Act
    const result = parseTimeZone(input);

    // Assess
    expect(result).toEqual({ ok: true, value: canonical });
  });

  it("accepts the current spelling of renamed zones", () => {
    // Act
    const result = parseTimeZone("Asia/Kolkata");

    // Assess: the value is whatever id this runtime's ICU treats as canonical for it.
    expect(result.ok).toBe(true);
    if (result.ok) expect(["Asia/Kolkata", "Asia/Calcutta"]).toContain(result.value);
  });

  it.each([
    ["europe/madrid", "Europe/Madrid", /case-sensitive/],
    ["EUROPE/MADRID", "Europe/Madrid", /case-sensitive/],
    ["utc", "UTC", /case-sensitive/],
    ["asia/kolkata", "Asia/Kolkata", /case-sensitive/],
    ["Europe/Madird", "Europe/Madrid", /unknown time zone "Europe\/Madird"/],
    ["Europe/Madri", "Europe/Madrid", /unknown/],
    ["America/New York", "America/New_York", /unknown/],
    ["America/NewYork", "America/New_York", /unknown/],
    ["Madrid", "Europe/Madrid", /unknown/],
    ["new york", "America/New_York", /unknown/],
    ["+01:00", "Etc/GMT-1", /fixed UTC offset/],
    ["-05:00", "Etc/GMT+5", /fixed UTC offset/],
    ["UTC+2", "Etc/GMT-2", /fixed UTC offset/],
    ["EST", "America/New_York", /abbreviation/],
    ["CEST", "Europe/Paris", /abbreviation/],
    ["BST", "Europe/London", /abbreviation/],
    ["pst", "America/Los_Angeles", /abbreviation/],
    ["", "UTC", /empty/],
  ])("refuses %j and suggests %s", (input, suggestion, message) => {
    // Act
    const result = parseTimeZone(input);

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("invalid_timezone");
    expect(result.error.message).toMatch(message);
    expect(result.error.expected).toMatch(/IANA/);
    expect(result.error.suggestion).toBe(suggestion);
  });

  it.each(["Mars/Olympus", "Nowhere", "+05:30", "12345"])(
    "refuses %j without a far-fetched suggestion",
    (input) => {
      // Act
      const result = parseTimeZone(input);

      // Assess
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.suggestion).toBeUndefined();
    },
  );
});

describe("formatInZone", () => {
  it.each([
    ["2025-01-06T07:00:00Z", "Europe/Madrid", "Mon 08:00 Europe/Madrid"],
    ["2025-07-07T06:00:00Z", "Europe/Madrid", "Mon 08:00 Europe/Madrid"],
    ["2025-03-09T07:00:00Z", "America/New_York", "Sun 03:00 America/New_York"],
    ["2025-01-04T23:59:00Z", "UTC", "Sat 23:59 UTC"],
  ])("shows %s in %s as %j", (iso, zone, expected) => {
    // Act
    const text = formatInZone(new Date(iso), zone);

    // Assess
    expect(text).toBe(expected);
  });
});
