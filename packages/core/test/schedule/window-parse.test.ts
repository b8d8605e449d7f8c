import { describe, expect, it } from "vitest";
import { parseWindow } from "../../src/schedule";

const ALL = [0, 1, 2, 3, 4, 5, 6];

describe("parseWindow accepts the grammar", () => {
  it.each([
    ["Mon-Fri 08:00-20:00 Europe/Madrid", [1, 2, 3, 4, 5], 480, 1200, "Europe/Madrid"],
    ["mon-fri 08:00-20:00", [1, 2, 3, 4, 5], 480, 1200, "UTC"],
    ["MON 09:30-10:45", [1], 570, 645, "UTC"],
    ["Fri-Mon 10:00-11:00", [0, 1, 5, 6], 600, 660, "UTC"],
    ["Sat-Sun 00:00-24:00", [0, 6], 0, 1440, "UTC"],
    ["Mon,Wed,Fri 07:00-19:00", [1, 3, 5], 420, 1140, "UTC"],
    ["Mon-Wed,Fri 09:00-17:00", [1, 2, 3, 5], 540, 1020, "UTC"],
    ["Fri,Mon,Mon 09:00-17:00", [1, 5], 540, 1020, "UTC"],
    ["Daily 00:00-24:00", ALL, 0, 1440, "UTC"],
    ["daily 06:00-07:00", ALL, 360, 420, "UTC"],
    ["* 06:00-07:00 America/New_York", ALL, 360, 420, "America/New_York"],
    ["Fri 22:00-02:00", [5], 1320, 120, "UTC"],
    ["Mon 08:00-00:00", [1], 480, 1440, "UTC"],
    ["Sun 23:59-00:01", [0], 1439, 1, "UTC"],
    ["  Mon-Fri   08:00-20:00  ", [1, 2, 3, 4, 5], 480, 1200, "UTC"],
  ])("%j", (text, days, startMinute, endMinute, timeZone) => {
    // Act
    const result = parseWindow(text);

    // Assess
    expect(result).toEqual({
      ok: true,
      value: { days, startMinute, endMinute, timeZone, source: text.trim() },
    });
  });

  it("falls back to the default time zone, then UTC", () => {
    // Act
    const withDefault = parseWindow("Mon 08:00-09:00", "Europe/Madrid");
    const withOwn = parseWindow("Mon 08:00-09:00 America/New_York", "Europe/Madrid");
    const withNone = parseWindow("Mon 08:00-09:00");

    // Assess
    expect(withDefault.ok && withDefault.value.timeZone).toBe("Europe/Madrid");
    expect(withOwn.ok && withOwn.value.timeZone).toBe("America/New_York");
    expect(withNone.ok && withNone.value.timeZone).toBe("UTC");
  });

  it("stores the canonical zone id", () => {
    // Act
    const result = parseWindow("Mon 08:00-09:00 US/Eastern");

    // Assess
    expect(result.ok && result.value.timeZone).toBe("America/New_York");
  });
});

describe("parseWindow refuses with a named problem and a suggestion", () => {
  it.each([
    ["Mon-Fri 8:00-20:00", "invalid_window", /start time "8:00" is not HH:MM/, "Mon-Fri 08:00-20:00"],
    ["Mon-Fri 08:00-8:30", "invalid_window", /end time "8:30"/, "Mon-Fri 08:00-08:30"],
    [
      "Monday 08:00-20:00",
      "invalid_window",
      /unknown day "Monday"; use the three-letter name "Mon"/,
      "Mon 08:00-20:00",
    ],
    ["Monday-Friday 8am-8pm", "invalid_window", /unknown day "Monday"/, "Mon-Fri 08:00-20:00"],
    ["Tues,Thurs 09:00-10:00", "invalid_window", /unknown day "Tues"/, "Tue,Thu 09:00-10:00"],
    [
      "Weekdays 08:00-20:00",
      "invalid_window",
      /unknown day "Weekdays"; write "Mon-Fri"/,
      "Mon-Fri 08:00-20:00",
    ],
    ["weekdays 8-20", "invalid_window", /unknown day/, "Mon-Fri 08:00-20:00"],
    ["Mon 08:00-08:00", "invalid_window", /starts and ends at 08:00.*00:00-24:00/, "Mon 00:00-24:00"],
    ["Daily 00:00-00:00", "invalid_window", /starts and ends at 00:00/, "Daily 00:00-24:00"],
    ["Mon - Fri 08:00 - 20:00", "invalid_window", /at most three/, "Mon-Fri 08:00-20:00"],
    ["Mon-Fri 08:00\u201320:00", "invalid_window", /time range/, "Mon-Fri 08:00-20:00"],
    ["08:00-20:00 Europe/Madrid", "invalid_window", /put the days first/, "Daily 08:00-20:00 Europe/Madrid"],
    [
      "Mon-Fri 08:00-20:00 Europe/Madird",
      "invalid_timezone",
      /unknown time zone "Europe\/Madird"/,
      "Mon-Fri 08:00-20:00 Europe/Madrid",
    ],
    [
      "Mon-Fri 08:00-20:00 europe/madrid",
      "invalid_timezone",
      /case-sensitive/,
      "Mon-Fri 08:00-20:00 Europe/Madrid",
    ],
    [
      "Mon-Fri 08:00-20:00 America/New York",
      "invalid_window",
      /"York"/,
      "Mon-Fri 08:00-20:00 America/New_York",
    ],
    ["Mon-Fri 08:00-20:00 CEST", "invalid_timezone", /abbreviation/, "Mon-Fri 08:00-20:00 Europe/Paris"],
  ])("%j", (text, code, message, suggestion) => {
    // Act
    const result = parseWindow(text);

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe(code);
    expect(result.error.message).toMatch(message);
    expect(result.error.expected.length).toBeGreaterThan(0);
    expect(result.error.suggestion).toBe(suggestion);
  });

  it.each([
    ["", /empty/],
    ["Mon", /no time range/],
    ["Mon,,Tue 08:00-09:00", /empty entry/],
    ["Mon-Tue-Wed 08:00-09:00", /not a day or a range/],
    ["Xyz 08:00-09:00", /unknown day "Xyz"/],
    ["Mon 24:00-02:00", /start time "24:00" is out of range/],
    ["Mon 08:60-09:00", /start time "08:60" is out of range/],
    ["Mon 08:00-24:30", /end time "24:30" is out of range/],
    ["Mon 08:00", /time range "08:00" is not HH:MM-HH:MM/],
    ["Mon 08:00-20:00 UTC extra", /at most three/],
  ])("%j has no plausible repair", (text, message) => {
    // Act
    const result = parseWindow(text);

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("invalid_window");
    expect(result.error.message).toMatch(message);
    expect(result.error.suggestion).toBeUndefined();
  });

  it("reports a bad default zone with the zone's own suggestion", () => {
    // Act
    const result = parseWindow("Mon 08:00-09:00", "Europe/Madird");

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("invalid_timezone");
    expect(result.error.message).toMatch(/default time zone/);
    expect(result.error.suggestion).toBe("Europe/Madrid");
  });

  it("refuses non-string input without throwing", () => {
    // Act
    const result = parseWindow(42 as unknown as string);

    // Assess
    expect(result.ok).toBe(false);
  });
});
