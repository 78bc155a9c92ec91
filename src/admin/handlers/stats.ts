/**
 * Admin `/stats`: every stat in Envoy's text format, or `?format=json`; `?filter=<regex>`
 * keeps the names it matches, `?usedonly` the stats ever written.
 *
 * Main thread; reads the merged stats store. Envoy counterpart: `StatsHandler`.
 */

import { statsAsJson, statsAsText } from '../../stats/format.ts';
import type { StatsStore } from '../../stats/store.ts';
import { type AdminHandler, json, text } from '../admin-server.ts';

export function statsHandlers(store: StatsStore, refresh: () => void): AdminHandler[] {
  return [
    {
      path: '/stats',
      help: 'print server stats',
      mutates: false,
      handle: (query) => {
        let filter: RegExp | undefined;
        const pattern = query.get('filter');
        if (pattern !== null && pattern !== '') {
          try {
            filter = new RegExp(pattern);
          } catch (err) {
            return text(`Invalid regex: ${(err as Error).message}\n`, 400);
          }
        }
        const usedOnly = query.has('usedonly');
        const format = query.get('format');
        refresh();
        if (format === 'json') return { ...json(null), body: statsAsJson(store, { filter, usedOnly }) };
        if (format !== null && format !== 'text') return text(`usage: /stats?format=(json|text)\n`, 400);
        return text(statsAsText(store, { filter, usedOnly }));
      },
    },
  ];
}
