/**
 * The one schedule module: window, cron and time-zone parsing and timing. Pure: no I/O, no clock;
 * every function takes the instant it reasons about.
 */
export { cronRunState, nextCronFire, parseCron, previousCronFire } from "./cron";
export { parseTimeZone } from "./time-zone";
export type { CronSchedule, ParseResult, ScheduleError, ScheduleState, Window } from "./types";
export { formatInZone } from "./wall-clock";
export { parseWindow } from "./window";
export { isWindowOpen, nextWindowChange } from "./window-timing";
