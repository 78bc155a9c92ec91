/**
 * Admin `/runtime` (every layer's values and the merged result, as Envoy's JSON) and
 * `/runtime_modify` (POST: set or remove admin-layer overrides from the query string).
 *
 * Main thread; reads and changes the runtime loader, which publishes the new snapshot to
 * every worker. `/runtime_modify` answers once every worker has applied it (Envoy answers
 * at once and the workers follow). Parameters come from the query string only (Envoy also
 * reads a form-encoded body; the admin server here does not read bodies). Envoy
 * counterpart: `RuntimeHandler` (source/server/admin/runtime_handler.cc).
 */
import type { RuntimeLoader } from '../../runtime/loader.ts';
import { NoAdminLayerError } from '../../runtime/loader.ts';
import type { Snapshot } from '../../runtime/types.ts';
import { type AdminHandler, json, text } from '../admin-server.ts';

const USAGE =
  'usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n' +
  'use an empty value to remove a previously added override\n';

/**
 * `{"layers": [names], "entries": {key: {"final_value", "layer_values"}}}`: keys sorted,
 * one layer value per layer ('' where the layer does not set the key), the final value the
 * last non-empty one.
 */
export function runtimeJson(snapshot: Snapshot): unknown {
  const layers = snapshot.layers;
  const keys = new Set<string>();
  for (const layer of layers) for (const key of layer.values.keys()) keys.add(key);
  const entries: Record<string, { final_value: string; layer_values: string[] }> = {};
  for (const key of [...keys].sort()) {
    const layerValues = layers.map((l) => l.values.get(key)?.raw ?? '');
    let finalValue = '';
    for (const v of layerValues) if (v !== '') finalValue = v;
    entries[key] = { final_value: finalValue, layer_values: layerValues };
  }
  return { layers: layers.map((l) => l.name), entries };
}

export function runtimeHandlers(runtime: RuntimeLoader): AdminHandler[] {
  return [
    {
      path: '/runtime',
      help: 'print runtime values',
      mutates: false,
      handle: () => json(runtimeJson(runtime.snapshot())),
    },
    {
      path: '/runtime_modify',
      help:
        'Adds or modifies runtime values as passed in query parameters. To delete a previously added key, ' +
        'use an empty string as the value. Note that deletion only applies to overrides added via this ' +
        'endpoint; values loaded from disk can be modified via override but not deleted. ' +
        'E.g. ?key1=value1&key2=value2...',
      mutates: true,
      handle: async (query) => {
        const overrides = new Map<string, string>();
        // A key given twice takes its first value, as Envoy does.
        for (const [key, value] of query) if (!overrides.has(key)) overrides.set(key, value);
        if (overrides.size === 0) return text(USAGE, 400);
        let applied: Promise<void>;
        try {
          applied = runtime.mergeValues(overrides);
        } catch (err) {
          if (err instanceof NoAdminLayerError) return text(`${err.message}\n`, 503);
          throw err;
        }
        // Answered once every worker has the new snapshot: after "OK", the change is in force.
        await applied;
        return text('OK\n');
      },
    },
  ];
}
