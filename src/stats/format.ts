/**
 * Envoy's admin `/stats` output: the plain text format and `?format=json`.
 *
 * Main thread (the admin handlers call these with the StatsStore). Both list text readouts,
 * then counters and gauges together, then histograms, each sorted by name; both take
 * Envoy's `filter` (a regex searched anywhere in the name) and `usedonly`. Envoy
 * counterpart: `StatsTextRender` and `StatsJsonRender` (source/server/admin/stats_render.cc)
 * driven by `StatsRequest` (stats_request.cc), with histograms in the default summary mode
 * (`ParentHistogramImpl::quantileSummary`).
 *
 * Numbers are written as Envoy writes them: counters and gauges as integers, quantiles with
 * fmt's `{}` (shortest round-trip digits, exponent form below 1e-4 and from 1e16), `nan`
 * in text and `null` in JSON for a quantile without samples.
 */
import type { HistogramSnapshot } from './types.ts';
import { QUANTILES } from './types.ts';

/** The reads the formatters need; `StatsStore` provides them. */
export interface StatsView {
  counters(usedOnly?: boolean): Map<string, number>;
  gauges(usedOnly?: boolean): Map<string, number>;
  textReadouts(usedOnly?: boolean): Map<string, string>;
  histograms(usedOnly?: boolean): HistogramSnapshot[];
}

export interface StatsFormatOptions {
  /** Envoy's `filter=`: only stats whose name contains a match. */
  readonly filter?: RegExp;
  /** Envoy's `usedonly`: only stats ever written or recorded. */
  readonly usedOnly?: boolean;
}

/** `supported_quantiles` in the JSON output: QUANTILES as percentages. */
const SUPPORTED_PERCENTILES = QUANTILES.map((q) => q * 100);
/** `P0`, `P25` ... `P100`. */
const QUANTILE_LABELS = SUPPORTED_PERCENTILES.map((p) => `P${formatDouble(p)}`);

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
function formatValue(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : formatDouble(n);
}

/** A regex usable with `test` any number of times (no `lastIndex` carried between names). */
function matcher(filter: RegExp | undefined): ((name: string) => boolean) | undefined {
  if (filter === undefined) return undefined;
  const re =
    filter.global || filter.sticky ? new RegExp(filter.source, filter.flags.replace(/[gy]/g, '')) : filter;
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
  const keep = matcher(options.filter);
  const pass = (name: string): boolean => keep === undefined || keep(name);
  const texts = [...view.textReadouts(usedOnly)].filter(([name]) => pass(name));
  const numbers = [...view.counters(usedOnly), ...view.gauges(usedOnly)].filter(([name]) => pass(name));
  numbers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const histograms = view.histograms(usedOnly).filter((h) => pass(h.name));
  return { texts, numbers, histograms };
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

/** GET /stats. */
export function statsAsText(view: StatsView, options: StatsFormatOptions = {}): string {
  const { texts, numbers, histograms } = select(view, options);
  let out = '';
  for (const [name, value] of texts) out += `${name}: "${value}"\n`;
  for (const [name, value] of numbers) out += `${name}: ${formatValue(value)}\n`;
  for (const h of histograms) out += `${h.name}: ${quantileSummary(h)}\n`;
  return out;
}

function jsonNumber(n: number): string {
  return Number.isNaN(n) ? 'null' : formatDouble(n);
}

/** GET /stats?format=json (histograms in Envoy's default summary form). */
export function statsAsJson(view: StatsView, options: StatsFormatOptions = {}): string {
  const { texts, numbers, histograms } = select(view, options);
  const entries: string[] = [];
  for (const [name, value] of texts)
    entries.push(`{"name":${JSON.stringify(name)},"value":${JSON.stringify(value)}}`);
  for (const [name, value] of numbers)
    entries.push(`{"name":${JSON.stringify(name)},"value":${formatValue(value)}}`);
  if (histograms.length > 0) {
    const computed = histograms.map((h) => {
      const values: string[] = [];
      for (let i = 0; i < QUANTILES.length; i++) {
        const cumulative = jsonNumber(h.cumulative.quantiles[i] ?? Number.NaN);
        const interval = jsonNumber(h.interval.quantiles[i] ?? Number.NaN);
        values.push(`{"cumulative":${cumulative},"interval":${interval}}`);
      }
      return `{"name":${JSON.stringify(h.name)},"values":[${values.join(',')}]}`;
    });
    entries.push(
      `{"histograms":{"supported_quantiles":[${SUPPORTED_PERCENTILES.map(formatDouble).join(',')}],` +
        `"computed_quantiles":[${computed.join(',')}]}}`,
    );
  }
  return `{"stats":[${entries.join(',')}]}`;
}
