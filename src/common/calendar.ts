/**
 * Day and month names in English, as strftime and spdlog print them; shared by the log
 * formatter and the access-log date formatter. Pure data.
 */
export const WEEKDAY_NAMES = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;
export const WEEKDAY_ABBREVIATIONS = WEEKDAY_NAMES.map((d) => d.slice(0, 3));
export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
export const MONTH_ABBREVIATIONS = MONTH_NAMES.map((m) => m.slice(0, 3));
