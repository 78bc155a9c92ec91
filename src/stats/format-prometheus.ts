/**
 * Envoy's Prometheus text exposition (`/stats/prometheus`, `/stats?format=prometheus`).
 *
 * Main thread (the admin handler calls it with the StatsStore and the server's
 * TagProducer). Each stat's name goes through tag extraction; stats with the same
 * tag-extracted name form one metric family under one `# TYPE` line, named `envoy_` plus
 * the extracted name with every character outside `[a-zA-Z0-9_]` made `_`, the tags as
 * labels (names sanitized the same way, values escaped). Counters, then gauges, then text
 * readouts (with `?text_readouts`, as gauges of value 0 carrying a `text_value` label),
 * then histograms: cumulative `_bucket{le=...}` counts at Envoy's bucket bounds, `+Inf`,
 * `_sum`, `_count`; or with `histogram_buckets=summary` a summary of the interval's
 * quantiles. Families are sorted by extracted name and the members of a family by full
 * name, both compared token by token as Envoy's symbol table does. Envoy counterpart:
 * `PrometheusStatsFormatter` (source/server/admin/prometheus_stats.cc).
 */
import {
  formatDouble,
  formatG,
  formatValue,
  type NameFilter,
  nameMatcher,
  type StatsView,
} from './format.ts';
import type { Tag, TagProducer } from './tag-extractor.ts';
import { QUANTILES } from './types.ts';

export interface PrometheusOptions {
  /** Envoy's `filter=`, applied to the full stat name. */
  readonly filter?: RegExp | NameFilter;
  /** Envoy's `usedonly`. */
  readonly usedOnly?: boolean;
  /** Envoy's `text_readouts`: include text readouts as gauges. */
  readonly textReadouts?: boolean;
  /** Envoy's `histogram_buckets`: `summary` renders histograms as summaries (default: histograms). */
  readonly histogramBuckets?: 'unset' | 'cumulative' | 'summary';
}

/** `[a-zA-Z0-9_]` only: anything else becomes `_`. Envoy's `sanitizeName`. */
export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** A label value escaped for the text format: `\` -> `\\`, newline -> `\n`, `"` -> `\"`. */
export function sanitizeValue(value: string): string {
  return value.replace(/[\\\n"]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\"'));
}

/** `name="value",...` (no braces). Envoy's `PrometheusStatsFormatter::formattedTags`. */
export function formatTags(tags: readonly Tag[]): string {
  return tags.map((t) => `${sanitizeName(t.name)}="${sanitizeValue(t.value)}"`).join(',');
}

/** The metric family name of a tag-extracted stat name. */
export function metricName(tagExtractedName: string): string {
  return `envoy_${sanitizeName(tagExtractedName)}`;
}

/** Orders stat names token by token (split on '.'), as Envoy's `SymbolTable::lessThan`. */
export function compareStatNames(a: string, b: string): number {
  const ta = a.split('.');
  const tb = b.split('.');
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return ta.length - tb.length;
}

interface Member<T> {
  readonly name: string;
  readonly tags: readonly Tag[];
  readonly stat: T;
}

/**
 * Groups stats by tag-extracted name, both levels sorted, and renders each family: its
 * `# TYPE` line then `render` for each member.
 */
function renderFamilies<T>(
  stats: Iterable<[string, T]>,
  producer: TagProducer,
  type: string,
  render: (family: string, member: Member<T>) => string,
): string {
  const groups = new Map<string, Member<T>[]>();
  for (const [name, stat] of stats) {
    const { tagExtractedName, tags } = producer.produceTags(name);
    let members = groups.get(tagExtractedName);
    if (members === undefined) {
      members = [];
      groups.set(tagExtractedName, members);
    }
    members.push({ name, tags, stat });
  }
  let out = '';
  for (const extracted of [...groups.keys()].sort(compareStatNames)) {
    const family = metricName(extracted);
    const members = groups.get(extracted)!;
    members.sort((a, b) => compareStatNames(a.name, b.name));
    out += `# TYPE ${family} ${type}\n`;
    for (const m of members) out += render(family, m);
  }
  return out;
}

/** GET /stats/prometheus. */
export function statsAsPrometheus(
  view: StatsView,
  producer: TagProducer,
  options: PrometheusOptions = {},
): string {
  const usedOnly = options.usedOnly ?? false;
  const keep = nameMatcher(options.filter);
  const pass = <T>(entries: Iterable<[string, T]>): Array<[string, T]> =>
    keep === undefined ? [...entries] : [...entries].filter(([name]) => keep(name));

  const numeric = (family: string, m: Member<number>): string =>
    `${family}{${formatTags(m.tags)}} ${formatValue(m.stat)}\n`;
  let out = renderFamilies(pass(view.counters(usedOnly)), producer, 'counter', numeric);
  out += renderFamilies(pass(view.gauges(usedOnly)), producer, 'gauge', numeric);
  if (options.textReadouts === true) {
    out += renderFamilies(pass(view.textReadouts(usedOnly)), producer, 'gauge', (family, m) => {
      const tags = formatTags([...m.tags, { name: 'text_value', value: m.stat }]);
      return `${family}{${tags}} 0\n`;
    });
  }

  const histograms = pass(view.histograms(usedOnly).map((h) => [h.name, h] as const));
  if (options.histogramBuckets === 'summary') {
    out += renderFamilies(histograms, producer, 'summary', (family, m) => {
      const tags = formatTags(m.tags);
      const prefix = tags === '' ? '' : `${tags},`;
      const stats = m.stat.interval;
      let lines = '';
      QUANTILES.forEach((q, i) => {
        lines += `${family}{${prefix}quantile="${formatDouble(q)}"} ${formatG(stats.quantiles[i] ?? Number.NaN, 32)}\n`;
      });
      lines += `${family}_sum{${tags}} ${formatG(stats.sum, 32)}\n`;
      lines += `${family}_count{${tags}} ${stats.count}\n`;
      return lines;
    });
  } else {
    out += renderFamilies(histograms, producer, 'histogram', (family, m) => {
      const tags = formatTags(m.tags);
      const prefix = tags === '' ? '' : `${tags},`;
      const stats = m.stat.cumulative;
      let lines = '';
      for (const b of stats.buckets) {
        lines += `${family}_bucket{${prefix}le="${formatG(b.upperBound, 32)}"} ${b.cumulativeCount}\n`;
      }
      lines += `${family}_bucket{${prefix}le="+Inf"} ${stats.count}\n`;
      lines += `${family}_sum{${tags}} ${formatG(stats.sum, 32)}\n`;
      lines += `${family}_count{${tags}} ${stats.count}\n`;
      return lines;
    });
  }
  return out;
}
