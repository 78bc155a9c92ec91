/**
 * Envoy's admin `/stats` output: the plain text format and `?format=json`.
 *
 * Main thread (the admin handlers call these with the StatsStore). Both list text readouts,
 * then counters and gauges together, then histograms, each sorted by name; both take
 * Envoy's `filter` (a regex searched anywhere in the name), `usedonly`, `type` (one kind of
 * stat) and `histogram_buckets`: the quantile summary by default, or the histogram's counts
 * at Envoy's bucket bounds (`cumulative`, `disjoint`), or every recorded bucket with the
 * summary (`detailed`). Envoy counterpart: `StatsTextRender` and `StatsJsonRender`
 * (source/server/admin/stats_render.cc) driven by `StatsRequest` (stats_request.cc), with
 * histograms from `ParentHistogramImpl` (`quantileSummary`, `bucketSummary`,
 * `detailedTotalBuckets`).
 *
 * Numbers are written as Envoy writes them: counters and gauges as integers, quantiles with
 * fmt's `{}` (shortest round-trip digits, exponent form below 1e-4 and from 1e16), `nan`
 * in text and `null` in JSON for a quantile without samples; bucket bounds with `%g`.
 */
import { RE2JS } from 're2js';
import type { HistogramDetailBucket, HistogramSnapshot, HistogramStatistics } from './types.ts';
import { QUANTILES } from './types.ts';

/** The reads the formatters need; `StatsStore` provides them. */
export interface StatsView {
  counters(usedOnly?: boolean): Map<string, number>;
  gauges(usedOnly?: boolean): Map<string, number>;
  textReadouts(usedOnly?: boolean): Map<string, string>;
  /** `detailed`: with every recorded bucket in the statistics. */
  histograms(usedOnly?: boolean, detailed?: boolean): HistogramSnapshot[];
}

/** A name test: a RegExp, or a compiled RE2 filter (`compileStatsFilter`). */
export interface NameFilter {
  test(name: string): boolean;
}

/**
 * Envoy's `filter=`: an RE2 pattern found anywhere in the name (`RE2::PartialMatch`), or
 * undefined when RE2 would not compile it.
 */
export function compileStatsFilter(pattern: string): NameFilter | undefined {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch {
    return undefined;
  }
  return { test: (name) => re.test(name) };
}

/** Envoy's `type=` values. */
export type StatsType = 'All' | 'Counters' | 'Gauges' | 'Histograms' | 'TextReadouts';
export const STATS_TYPES: readonly StatsType[] = ['All', 'Counters', 'Histograms', 'Gauges', 'TextReadouts'];

/** Envoy's `histogram_buckets=` modes; `unset` when the parameter is absent. */
export type HistogramBucketsMode = 'unset' | 'summary' | 'cumulative' | 'disjoint' | 'detailed';

export interface StatsFormatOptions {
  /** Envoy's `filter=`: only stats whose name contains a match. */
  readonly filter?: RegExp | NameFilter;
  /** Envoy's `usedonly`: only stats ever written or recorded. */
  readonly usedOnly?: boolean;
  /** Envoy's `type=`: one kind of stat (default All). */
  readonly type?: StatsType;
  /** Envoy's `histogram_buckets=` (default: the quantile summary). */
  readonly histogramBuckets?: HistogramBucketsMode;
}

/** `supported_quantiles` in the JSON output: QUANTILES as percentages. */
const SUPPORTED_PERCENTILES = QUANTILES.map((q) => q * 100);
/** `P0`, `P25` ... `P100`. */
const QUANTILE_LABELS = SUPPORTED_PERCENTILES.map((p) => `P${formatDouble(p)}`);

/**
 * A double as printf's `%.<precision>g` writes it: `precision` significant digits, trailing
 * zeros dropped, exponent form (two digits at least) below 1e-4 or from 10^precision. Envoy
 * prints bucket bounds with `%g` (precision 6), detailed buckets with `%.15g` and
 * Prometheus values with `%.32g`.
 */
export function formatG(value: number, precision = 6): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Number.POSITIVE_INFINITY) return 'inf';
  if (value === Number.NEGATIVE_INFINITY) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exponential = value.toExponential(precision - 1);
  const e = exponential.indexOf('e');
  const exp = Number(exponential.slice(e + 1));
  if (exp < -4 || exp >= precision) {
    const abs = Math.abs(exp);
    return `${trimZeros(exponential.slice(0, e))}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  // toPrecision is fixed-point for these exponents, with exactly `precision` digits.
  return trimZeros(value.toPrecision(precision));
}

/** `1.500` -> `1.5`, `2.000` -> `2`; integers are left alone. */
function trimZeros(digits: string): string {
  if (!digits.includes('.')) return digits;
  return digits.replace(/\.?0+$/, '');
}

/** A double as fmt's `{}` writes it (what Envoy uses for quantiles). */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  // 15 significant digits drop the last-bit noise of interpolation (2.9499999999999997 -> 2.95).
  const n = Number.isFinite(value) ? Number(value.toPrecision(15)) : value;
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exponential = n.toExponential();
  const e = exponential.indexOf('e');
  const exp = Number(exponential.slice(e + 1));
  if (exp >= -4 && exp < 16) return String(n);
  const abs = Math.abs(exp);
  return `${exponential.slice(0, e)}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

/** A counter or gauge value: Envoy's are unsigned integers, printed in full. */
export function formatValue(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : formatDouble(n);
}

/** A filter usable with `test` any number of times (no RegExp `lastIndex` carried between names). */
export function nameMatcher(
  filter: RegExp | NameFilter | undefined,
): ((name: string) => boolean) | undefined {
  if (filter === undefined) return undefined;
  const re =
    filter instanceof RegExp && (filter.global || filter.sticky)
      ? new RegExp(filter.source, filter.flags.replace(/[gy]/g, ''))
      : filter;
  return (name) => re.test(name);
}

interface Selected {
  readonly texts: Array<[string, string]>;
  /** Counters and gauges, merged and sorted by name. */
  readonly numbers: Array<[string, number]>;
  readonly histograms: HistogramSnapshot[];
}

function select(view: StatsView, options: StatsFormatOptions): Selected {
  const usedOnly = options.usedOnly ?? false;
  const type = options.type ?? 'All';
  const keep = nameMatcher(options.filter);
  const pass = (name: string): boolean => keep === undefined || keep(name);
  const texts =
    type === 'All' || type === 'TextReadouts'
      ? [...view.textReadouts(usedOnly)].filter(([name]) => pass(name))
      : [];
  const numbers: Array<[string, number]> = [];
  if (type === 'All' || type === 'Counters') numbers.push(...view.counters(usedOnly));
  if (type === 'All' || type === 'Gauges') numbers.push(...view.gauges(usedOnly));
  const passing = numbers.filter(([name]) => pass(name));
  passing.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const histograms =
    type === 'All' || type === 'Histograms'
      ? view.histograms(usedOnly, options.histogramBuckets === 'detailed').filter((h) => pass(h.name))
      : [];
  return { texts, numbers: passing, histograms };
}

/** Envoy's `P0(interval,cumulative) P25(...) ... P100(...)`, or `No recorded values`. */
export function quantileSummary(h: HistogramSnapshot): string {
  if (h.cumulative.count === 0) return 'No recorded values';
  const parts: string[] = [];
  for (let i = 0; i < QUANTILE_LABELS.length; i++) {
    const interval = formatDouble(h.interval.quantiles[i] ?? Number.NaN);
    const cumulative = formatDouble(h.cumulative.quantiles[i] ?? Number.NaN);
    parts.push(`${QUANTILE_LABELS[i]}(${interval},${cumulative})`);
  }
  return parts.join(' ');
}

/** Per bucket bound: the count at or below it (cumulative) or in it alone (disjoint). */
function bucketCounts(stats: HistogramStatistics, disjoint: boolean): number[] {
  let previous = 0;
  return stats.buckets.map((b) => {
    const n = disjoint ? b.cumulativeCount - previous : b.cumulativeCount;
    previous = b.cumulativeCount;
    return n;
  });
}

/** Envoy's `B0.5(interval,cumulative) B1(...) ... B3.6e+06(...)` (`bucketSummary`, or disjoint counts). */
function bucketSummary(h: HistogramSnapshot, disjoint: boolean): string {
  const interval = bucketCounts(h.interval, disjoint);
  const cumulative = bucketCounts(h.cumulative, disjoint);
  return h.cumulative.buckets
    .map((b, i) => `B${formatG(b.upperBound)}(${interval[i] ?? 0},${cumulative[i] ?? 0})`)
    .join(' ');
}

/** `lower,width:count, ...` with `%.15g` bounds. */
function detailText(buckets: readonly HistogramDetailBucket[] | undefined): string {
  return (buckets ?? [])
    .map((b) => `${formatG(b.lowerBound, 15)},${formatG(b.width, 15)}:${b.count}`)
    .join(', ');
}

function histogramText(h: HistogramSnapshot, mode: HistogramBucketsMode): string {
  if (h.cumulative.count === 0) return `${h.name}: No recorded values\n`;
  switch (mode) {
    case 'cumulative':
      return `${h.name}: ${bucketSummary(h, false)}\n`;
    case 'disjoint':
      return `${h.name}: ${bucketSummary(h, true)}\n`;
    case 'detailed':
      return (
        `${h.name}:\n  totals=${detailText(h.cumulative.detailed)}\n` +
        `  intervals=${detailText(h.interval.detailed)}\n  summary=${quantileSummary(h)}\n`
      );
    default:
      return `${h.name}: ${quantileSummary(h)}\n`;
  }
}

/** GET /stats. */
export function statsAsText(view: StatsView, options: StatsFormatOptions = {}): string {
  const { texts, numbers, histograms } = select(view, options);
  const mode = options.histogramBuckets ?? 'unset';
  let out = '';
  for (const [name, value] of texts) out += `${name}: "${value}"\n`;
  for (const [name, value] of numbers) out += `${name}: ${formatValue(value)}\n`;
  for (const h of histograms) out += histogramText(h, mode);
  return out;
}

function jsonNumber(n: number): string {
  return Number.isNaN(n) ? 'null' : formatDouble(n);
}

/** `[{"cumulative":..,"interval":..}, ...]`, one per quantile. */
function jsonPercentiles(h: HistogramSnapshot): string {
  const values: string[] = [];
  for (let i = 0; i < QUANTILES.length; i++) {
    const cumulative = jsonNumber(h.cumulative.quantiles[i] ?? Number.NaN);
    const interval = jsonNumber(h.interval.quantiles[i] ?? Number.NaN);
    values.push(`{"cumulative":${cumulative},"interval":${interval}}`);
  }
  return `[${values.join(',')}]`;
}

function jsonDetail(buckets: readonly HistogramDetailBucket[] | undefined): string {
  const entries = (buckets ?? []).map(
    (b) => `{"lower_bound":${jsonNumber(b.lowerBound)},"width":${jsonNumber(b.width)},"count":${b.count}}`,
  );
  return `[${entries.join(',')}]`;
}

/** The `{"histograms":...}` entry for `mode`, as `StatsJsonRender` nests it. */
function jsonHistograms(histograms: readonly HistogramSnapshot[], mode: HistogramBucketsMode): string {
  const percentiles = `[${SUPPORTED_PERCENTILES.map(formatDouble).join(',')}]`;
  switch (mode) {
    case 'cumulative':
    case 'disjoint': {
      const disjoint = mode === 'disjoint';
      const items = histograms.map((h) => {
        const interval = bucketCounts(h.interval, disjoint);
        const cumulative = bucketCounts(h.cumulative, disjoint);
        const buckets = h.cumulative.buckets.map(
          (b, i) =>
            `{"upper_bound":${formatDouble(b.upperBound)},"interval":${interval[i] ?? 0},"cumulative":${cumulative[i] ?? 0}}`,
        );
        return `{"name":${JSON.stringify(h.name)},"buckets":[${buckets.join(',')}]}`;
      });
      return `{"histograms":[${items.join(',')}]}`;
    }
    case 'detailed': {
      const details = histograms.map(
        (h) =>
          `{"name":${JSON.stringify(h.name)},"totals":${jsonDetail(h.cumulative.detailed)},` +
          `"intervals":${jsonDetail(h.interval.detailed)},"percentiles":${jsonPercentiles(h)}}`,
      );
      return `{"histograms":{"supported_percentiles":${percentiles},"details":[${details.join(',')}]}}`;
    }
    default: {
      const computed = histograms.map(
        (h) => `{"name":${JSON.stringify(h.name)},"values":${jsonPercentiles(h)}}`,
      );
      return `{"histograms":{"supported_quantiles":${percentiles},"computed_quantiles":[${computed.join(',')}]}}`;
    }
  }
}

/** GET /stats?format=json. */
export function statsAsJson(view: StatsView, options: StatsFormatOptions = {}): string {
  const { texts, numbers, histograms } = select(view, options);
  const entries: string[] = [];
  for (const [name, value] of texts)
    entries.push(`{"name":${JSON.stringify(name)},"value":${JSON.stringify(value)}}`);
  for (const [name, value] of numbers)
    entries.push(`{"name":${JSON.stringify(name)},"value":${formatValue(value)}}`);
  if (histograms.length > 0) entries.push(jsonHistograms(histograms, options.histogramBuckets ?? 'unset'));
  return `{"stats":[${entries.join(',')}]}`;
}
