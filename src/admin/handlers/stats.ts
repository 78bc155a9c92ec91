/**
 * Admin stats endpoints: `/stats` (text, `?format=json`, `?format=prometheus`),
 * `/stats/prometheus`, `/stats/recentlookups` with its `/clear`, `/disable` and `/enable`,
 * and `/reset_counters`.
 *
 * Main thread; reads the merged stats store. Query parameters are Envoy's, checked in
 * Envoy's order with Envoy's error texts (400): `filter` (RE2, searched anywhere in the
 * name), `histogram_buckets`, `type`, `hidden`, `format`; then `usedonly` and
 * `text_readouts` as bare flags. Envoy counterpart: `StatsHandler` and `StatsParams`
 * (source/server/admin/stats_handler.cc, stats_params.cc).
 */

import {
  compileStatsFilter,
  type HistogramBucketsMode,
  type NameFilter,
  STATS_TYPES,
  type StatsType,
  statsAsJson,
  statsAsText,
} from '../../stats/format.ts';
import { statsAsPrometheus } from '../../stats/format-prometheus.ts';
import { RECENT_LOOKUPS_CAPACITY } from '../../stats/recent-lookups.ts';
import type { StatsStore } from '../../stats/store.ts';
import { TagProducer } from '../../stats/tag-extractor.ts';
import { type AdminHandler, type AdminParam, type AdminResponse, json, text } from '../admin-server.ts';

interface StatsParams {
  readonly usedOnly: boolean;
  readonly textReadouts: boolean;
  readonly filter: NameFilter | undefined;
  readonly histogramBuckets: HistogramBucketsMode;
  readonly type: StatsType;
  readonly format: 'text' | 'json' | 'prometheus';
}

const NOTHING: NameFilter = { test: () => false };

/** A parameter's first value, or undefined when absent or empty (Envoy's `nonEmptyQueryParam`). */
function nonEmpty(query: URLSearchParams, name: string): string | undefined {
  const v = query.get(name);
  return v === null || v === '' ? undefined : v;
}

/** Envoy's `StatsParams::parse`: the parameters, or the 400 answer for the first bad one. */
function parseStatsParams(query: URLSearchParams): StatsParams | AdminResponse {
  let filter: NameFilter | undefined;
  const pattern = nonEmpty(query, 'filter');
  if (pattern !== undefined) {
    // Envoy decodes only %XX in admin queries; URLSearchParams also reads '+' as a space.
    // Stat names hold no spaces, so a space here was a regex '+' ('cluster\.(a|b)+').
    filter = compileStatsFilter(pattern.replaceAll(' ', '+'));
    if (filter === undefined) return text('Invalid re2 regex', 400);
  }

  let histogramBuckets: HistogramBucketsMode = 'unset';
  const buckets = nonEmpty(query, 'histogram_buckets');
  if (buckets !== undefined) {
    if (buckets === 'cumulative' || buckets === 'disjoint' || buckets === 'detailed')
      histogramBuckets = buckets;
    // "none" is Envoy's older name for "summary".
    else if (buckets === 'summary' || buckets === 'none') histogramBuckets = 'summary';
    else return text('usage: /stats?histogram_buckets=(cumulative|disjoint|detailed|summary)\n', 400);
  }

  let type: StatsType = 'All';
  const typeValue = nonEmpty(query, 'type');
  if (typeValue !== undefined) {
    if (!(STATS_TYPES as readonly string[]).includes(typeValue)) return text('invalid &type= param', 400);
    type = typeValue as StatsType;
  }

  // Legate has no hidden stats: `only` shows nothing, `include` and `exclude` everything.
  const hidden = nonEmpty(query, 'hidden');
  if (hidden !== undefined) {
    if (hidden === 'only') filter = NOTHING;
    else if (hidden !== 'include' && hidden !== 'exclude') {
      return text('usage: /stats?hidden=(include|only|exclude)\n\n', 400);
    }
  }

  let format: StatsParams['format'] = 'text';
  const formatValue = nonEmpty(query, 'format');
  if (formatValue !== undefined) {
    if (formatValue === 'text' || formatValue === 'json' || formatValue === 'prometheus')
      format = formatValue;
    else if (formatValue === 'html' || formatValue === 'active-html') {
      return text(
        `${formatValue === 'html' ? 'HTML' : 'Active HTML'} output is not available in Legate`,
        400,
      );
    } else return text('usage: /stats?format=(html|active-html|json|prometheus|text)\n\n', 400);
  }

  return {
    usedOnly: query.has('usedonly'),
    textReadouts: query.has('text_readouts'),
    filter,
    histogramBuckets,
    type,
    format,
  };
}

function isResponse(v: StatsParams | AdminResponse): v is AdminResponse {
  return 'status' in v;
}

function prometheus(store: StatsStore, tags: TagProducer, params: StatsParams): AdminResponse {
  const mode = params.histogramBuckets;
  if (mode === 'disjoint' || mode === 'detailed')
    return text('unsupported prometheus histogram bucket mode', 400);
  return text(
    statsAsPrometheus(store, tags, {
      filter: params.filter,
      usedOnly: params.usedOnly,
      textReadouts: params.textReadouts,
      histogramBuckets: mode,
    }),
  );
}

const USED_ONLY: AdminParam = {
  name: 'usedonly',
  type: 'boolean',
  help: 'Only include stats that have been written by system since restart',
};
const FILTER: AdminParam = {
  name: 'filter',
  type: 'string',
  help: 'Regular expression (Google re2) for filtering stats',
};

/** `/recentlookups`' table: `   Count Lookup`, one `%8d name` line each, then the total. */
function recentLookupsText(store: StatsStore): string {
  const { lookups, total } = store.recentLookupsView();
  let table = '';
  for (const [name, count] of lookups) table += `${String(count).padStart(8)} ${name}\n`;
  let out = '';
  if (table === '' && store.recentLookupCapacity() === 0) {
    table = 'Lookup tracking is not enabled. Use /stats/recentlookups/enable to enable.\n';
  } else {
    out = '   Count Lookup\n';
  }
  return `${out}${table}\ntotal: ${total}\n`;
}

/**
 * The stats endpoints over `store`; `refresh` updates the gauges computed on demand before
 * a read, `tags` is the server's tag extraction (from `stats_config` and `--stats-tag`).
 */
export function statsHandlers(
  store: StatsStore,
  refresh: () => void,
  tags: TagProducer = new TagProducer(),
): AdminHandler[] {
  return [
    {
      path: '/stats',
      help: 'print server stats',
      mutates: false,
      params: [
        USED_ONLY,
        FILTER,
        { name: 'format', type: 'enum', help: 'Format to use', choices: ['text', 'json', 'prometheus'] },
        { name: 'type', type: 'enum', help: 'Stat types to include.', choices: STATS_TYPES },
        {
          name: 'histogram_buckets',
          type: 'enum',
          help: 'Histogram bucket display mode',
          choices: ['cumulative', 'disjoint', 'detailed', 'summary'],
        },
      ],
      handle: (query) => {
        const params = parseStatsParams(query);
        if (isResponse(params)) return params;
        refresh();
        const options = {
          filter: params.filter,
          usedOnly: params.usedOnly,
          type: params.type,
          histogramBuckets: params.histogramBuckets,
        };
        switch (params.format) {
          case 'prometheus':
            return prometheus(store, tags, params);
          case 'json':
            return { ...json(null), body: statsAsJson(store, options) };
          default:
            return text(statsAsText(store, options));
        }
      },
    },
    {
      path: '/stats/prometheus',
      help: 'print server stats in prometheus format',
      mutates: false,
      params: [
        USED_ONLY,
        {
          name: 'text_readouts',
          type: 'boolean',
          help: 'Render text_readouts as new gaugues with value 0 (increases Prometheus data size)',
        },
        FILTER,
        {
          name: 'histogram_buckets',
          type: 'enum',
          help: 'Histogram bucket display mode',
          choices: ['cumulative', 'summary'],
        },
      ],
      handle: (query) => {
        const params = parseStatsParams(query);
        if (isResponse(params)) return params;
        refresh();
        return prometheus(store, tags, params);
      },
    },
    {
      path: '/stats/recentlookups',
      help: 'Show recent stat-name lookups',
      mutates: false,
      handle: () => text(recentLookupsText(store)),
    },
    {
      path: '/stats/recentlookups/clear',
      help: 'clear list of stat-name lookups and counter',
      mutates: true,
      handle: () => {
        store.clearRecentLookups();
        return text('OK\n');
      },
    },
    {
      path: '/stats/recentlookups/disable',
      help: 'disable recording of reset stat-name lookup names',
      mutates: true,
      handle: () => {
        store.setRecentLookupCapacity(0);
        return text('OK\n');
      },
    },
    {
      path: '/stats/recentlookups/enable',
      help: 'enable recording of reset stat-name lookup names',
      mutates: true,
      handle: () => {
        store.setRecentLookupCapacity(RECENT_LOOKUPS_CAPACITY);
        return text('OK\n');
      },
    },
    {
      path: '/reset_counters',
      help: 'reset all counters to zero',
      mutates: true,
      handle: () => {
        store.resetCounters();
        store.clearRecentLookups();
        return text('OK\n');
      },
    },
  ];
}
