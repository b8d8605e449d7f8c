import { describe, expect, it } from "vitest";
import { isWindowOpen, nextWindowChange, parseWindow, type Window } from "../../src/schedule";

function window(text: string): Window {
  const result = parseWindow(text);
  if (!result.ok) throw new Error(`test window "${text}" does not parse: ${result.error.message}`);
  return result.value;
}

/** Asserts the state at each instant, as [ISO instant, expected open]. */
function expectStates(text: string, cases: [string, boolean][]): void {
  const w = window(text);
  for (const [iso, open] of cases) {
    expect({ iso, open: isWindowOpen(w, new Date(iso)) }).toEqual({ iso, open });
  }
}

describe("isWindowOpen", () => {
  it("follows the guide's office-hours window in winter and summer", () => {
    // Prepare: Europe/Madrid is UTC+1 in January and UTC+2 in July.
    const text = "Mon-Fri 08:00-20:00 Europe/Madrid";

    // Act and Assess
    expectStates(text, [
      ["2025-01-06T06:59:59.999Z", false],
      ["2025-01-06T07:00:00Z", true],
      ["2025-01-06T18:59:59.999Z", true],
      ["2025-01-06T19:00:00Z", false],
      ["2025-01-10T12:00:00Z", true],
      ["2025-01-11T12:00:00Z", false],
      ["2025-01-12T12:00:00Z", false],
      ["2025-07-07T05:59:00Z", false],
      ["2025-07-07T06:00:00Z", true],
      ["2025-07-07T17:59:00Z", true],
      ["2025-07-07T18:00:00Z", false],
    ]);
  });

  it("keeps a window crossing midnight with the day it starts on", () => {
    // Prepare: 2025-01-03 is a Friday.
    const text = "Fri 22:00-02:00";

    // Act and Assess
    expectStates(text, [
      ["2025-01-02T23:00:00Z", false],
      ["2025-01-03T01:00:00Z", false],
      ["2025-01-03T21:59:00Z", false],
      ["2025-01-03T22:00:00Z", true],
      ["2025-01-04T01:59:00Z", true],
      ["2025-01-04T02:00:00Z", false],
      ["2025-01-04T23:00:00Z", false],
      ["2025-01-05T01:00:00Z", false],
    ]);
  });

  it("crosses from Saturday into Sunday in the window's zone", () => {
    // Prepare: 2025-01-04 is a Saturday; 23:30Z is Sunday 00:30 in Madrid.
    const text = "Sat 22:00-02:00 Europe/Madrid";

    // Act and Assess
    expectStates(text, [
      ["2025-01-04T20:59:00Z", false],
      ["2025-01-04T21:00:00Z", true],
      ["2025-01-04T23:30:00Z", true],
      ["2025-01-05T00:59:00Z", true],
      ["2025-01-05T01:00:00Z", false],
    ]);
  });

  it("treats an end of 24:00 as the next midnight", () => {
    // Act and Assess
    expectStates("Sun 18:00-24:00 America/New_York", [
      ["2025-01-05T22:59:00Z", false],
      ["2025-01-05T23:00:00Z", true],
      ["2025-01-06T04:59:00Z", true],
      ["2025-01-06T05:00:00Z", false],
    ]);
  });
});

describe("isWindowOpen across DST", () => {
  it("opens at 03:00 when 02:30 does not exist (Madrid, spring forward 2025-03-30)", () => {
    // Prepare: clocks jump from 02:00 CET to 03:00 CEST at 01:00Z.
    const text = "Sun 02:30-04:00 Europe/Madrid";

    // Act and Assess
    expectStates(text, [
      ["2025-03-30T00:59:59Z", false],
      ["2025-03-30T01:00:00Z", true],
      ["2025-03-30T01:59:00Z", true],
      ["2025-03-30T02:00:00Z", false],
    ]);
  });

  it("closes at the end of the gap when the end time does not exist (Madrid)", () => {
    // Act and Assess: Saturday 22:00 CET is 21:00Z; Sunday 02:30 maps to 03:00 CEST, 01:00Z.
    expectStates("Sat 22:00-02:30 Europe/Madrid", [
      ["2025-03-29T21:00:00Z", true],
      ["2025-03-30T00:59:00Z", true],
      ["2025-03-30T01:00:00Z", false],
    ]);
  });

  it("uses the first occurrence of a repeated time (Madrid, fall back 2025-10-26)", () => {
    // Prepare: clocks go back from 03:00 CEST to 02:00 CET at 01:00Z, so 02:30 happens at 00:30Z and 01:30Z.
    const text = "Sun 02:30-05:00 Europe/Madrid";

    // Act and Assess
    expectStates(text, [
      ["2025-10-26T00:29:00Z", false],
      ["2025-10-26T00:30:00Z", true],
      ["2025-10-26T01:45:00Z", true],
      ["2025-10-26T03:59:00Z", true],
      ["2025-10-26T04:00:00Z", false],
    ]);
  });

  it("ends at the first occurrence of a repeated end time (Madrid)", () => {
    // Act and Assess: open from 01:00 CEST (23:00Z) to the first 02:30 (00:30Z), not the second.
    expectStates("Sun 01:00-02:30 Europe/Madrid", [
      ["2025-10-25T23:00:00Z", true],
      ["2025-10-26T00:29:00Z", true],
      ["2025-10-26T00:30:00Z", false],
      ["2025-10-26T01:30:00Z", false],
    ]);
  });

  it("opens at 03:00 EDT when 02:30 does not exist (New York, spring forward 2025-03-09)", () => {
    // Prepare: clocks jump from 02:00 EST to 03:00 EDT at 07:00Z.
    const text = "Sun 02:30-03:30 America/New_York";

    // Act and Assess
    expectStates(text, [
      ["2025-03-09T06:59:00Z", false],
      ["2025-03-09T07:00:00Z", true],
      ["2025-03-09T07:29:00Z", true],
      ["2025-03-09T07:30:00Z", false],
      ["2025-03-16T06:30:00Z", true],
    ]);
  });

  it("spans the repeated hour in real time (New York, fall back 2025-11-02)", () => {
    // Prepare: clocks go back from 02:00 EDT to 01:00 EST at 06:00Z; 01:30 EDT is 05:30Z.
    const text = "Sun 01:30-02:00 America/New_York";

    // Act and Assess: 90 real minutes, from the first 01:30 to 02:00 EST.
    expectStates(text, [
      ["2025-11-02T05:29:00Z", false],
      ["2025-11-02T05:30:00Z", true],
      ["2025-11-02T06:45:00Z", true],
      ["2025-11-02T06:59:00Z", true],
      ["2025-11-02T07:00:00Z", false],
    ]);
  });

  it("crosses midnight into a fall-back night (New York)", () => {
    // Act and Assess: Saturday 23:00 EDT (03:00Z) to the first Sunday 01:30 (05:30Z).
    expectStates("Sat 23:00-01:30 America/New_York", [
      ["2025-11-02T02:59:00Z", false],
      ["2025-11-02T03:00:00Z", true],
      ["2025-11-02T05:29:00Z", true],
      ["2025-11-02T05:30:00Z", false],
      ["2025-11-02T06:30:00Z", false],
    ]);
  });
});

describe("nextWindowChange", () => {
  it.each([
    ["Mon-Fri 08:00-20:00 Europe/Madrid", "2025-01-06T06:00:00Z", false, "2025-01-06T07:00:00.000Z"],
    ["Mon-Fri 08:00-20:00 Europe/Madrid", "2025-01-06T07:00:00Z", true, "2025-01-06T19:00:00.000Z"],
    ["Mon-Fri 08:00-20:00 Europe/Madrid", "2025-01-10T19:00:00Z", false, "2025-01-13T07:00:00.000Z"],
    ["Fri 22:00-02:00", "2025-01-03T12:00:00Z", false, "2025-01-03T22:00:00.000Z"],
    ["Fri 22:00-02:00", "2025-01-04T01:00:00Z", true, "2025-01-04T02:00:00.000Z"],
    ["Fri 22:00-02:00", "2025-01-04T02:00:00Z", false, "2025-01-10T22:00:00.000Z"],
    ["Daily 20:00-08:00", "2025-01-04T23:00:00Z", true, "2025-01-05T08:00:00.000Z"],
    // Touching openings are one run: Monday 00:00 to Saturday 00:00 local.
    ["Mon-Fri 00:00-24:00 Europe/Madrid", "2025-01-07T12:00:00Z", true, "2025-01-10T23:00:00.000Z"],
    ["Fri-Mon 00:00-24:00", "2025-01-04T12:00:00Z", true, "2025-01-07T00:00:00.000Z"],
    // DST: the opening moves to the end of the gap, the closing to the first repeat.
    ["Sun 02:30-04:00 Europe/Madrid", "2025-03-29T12:00:00Z", false, "2025-03-30T01:00:00.000Z"],
    ["Sun 02:30-03:30 America/New_York", "2025-03-08T12:00:00Z", false, "2025-03-09T07:00:00.000Z"],
    ["Sun 01:30-02:00 America/New_York", "2025-11-02T05:45:00Z", true, "2025-11-02T07:00:00.000Z"],
    ["Sun 01:00-02:30 Europe/Madrid", "2025-10-25T23:30:00Z", true, "2025-10-26T00:30:00.000Z"],
    // Entirely inside the spring-forward gap: no opening that Sunday, so the next is a week later.
    ["Sun 02:00-02:30 Europe/Madrid", "2025-03-29T12:00:00Z", false, "2025-04-06T00:00:00.000Z"],
  ])("%s at %s", (text, iso, open, changesAt) => {
    // Prepare
    const w = window(text);

    // Act
    const state = nextWindowChange(w, new Date(iso));

    // Assess
    expect({ open: state.open, changesAt: state.changesAt.toISOString() }).toEqual({ open, changesAt });
    expect(isWindowOpen(w, state.changesAt)).toBe(!open);
  });

  it("reports an always-open window as open with a later re-check point", () => {
    // Prepare
    const w = window("Daily 00:00-24:00 Europe/Madrid");
    const at = new Date("2025-03-29T12:00:00Z");

    // Act
    const state = nextWindowChange(w, at);

    // Assess
    expect(state.open).toBe(true);
    expect(state.steady).toBe(true);
    expect(state.changesAt.getTime()).toBeGreaterThan(at.getTime() + 7 * 86_400_000);
    expect(isWindowOpen(w, state.changesAt)).toBe(true);
  });
});
