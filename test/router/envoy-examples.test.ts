/**
 * Every inline `route_config` of the Envoy example configs (`../shared/envoy-examples/`),
 * decoded by the config loader, compiles into a route table without a single problem; and the
 * front-proxy's table routes `/service/1` and `/service/2` to their clusters.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type { ProtoMessage } from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import { compileRouteTable, validateRouteConfig } from '../../src/router/config.ts';
import { formatRouteConfigProblem } from '../../src/router/problems.ts';
import { clusterFor, request } from './helpers.ts';

const EXAMPLES_DIR = path.resolve(import.meta.dirname, '../../../shared/envoy-examples');

/** Every inline route_config under an HTTP connection manager in a decoded bootstrap. */
function routeConfigsOf(value: unknown, out: ProtoMessage[] = []): ProtoMessage[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if (Array.isArray(value)) {
    for (const v of value) routeConfigsOf(v, out);
    return out;
  }
  const m = value as ProtoMessage;
  const type = m['@type'];
  const routeConfig = m['route_config'];
  if (typeof type === 'string' && type.endsWith('.HttpConnectionManager') && routeConfig !== undefined) {
    out.push(routeConfig as ProtoMessage);
  }
  for (const v of Object.values(m)) routeConfigsOf(v, out);
  return out;
}

function routeConfigsIn(file: string): ProtoMessage[] {
  const loaded = loadConfig(
    { configPath: path.join(EXAMPLES_DIR, file) },
    { registry: new ExtensionRegistry(compiledInExtensions) },
  );
  return routeConfigsOf(loaded.message);
}

if (!fs.existsSync(EXAMPLES_DIR)) {
  test('Envoy example route configs compile', (t) => {
    t.skip(`the examples folder ${EXAMPLES_DIR} is absent`);
  });
} else {
  const files = (fs.readdirSync(EXAMPLES_DIR, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();

  describe('Envoy example route configs compile without problems', () => {
    for (const file of files) {
      const configs = routeConfigsIn(file);
      if (configs.length === 0) continue;
      test(`${file}: ${configs.length} route table(s)`, () => {
        for (const config of configs) {
          assert.deepEqual(validateRouteConfig(config).map(formatRouteConfigProblem), []);
        }
      });
    }
  });

  test('the front-proxy routes /service/1 and /service/2 to their clusters', () => {
    const [config] = routeConfigsIn('front-proxy/envoy.yaml');
    assert.ok(config);
    const t = compileRouteTable(config);
    assert.equal(clusterFor(t, request('localhost:8080', '/service/1')), 'service1-envoy');
    assert.equal(clusterFor(t, request('localhost:8080', '/service/2/x')), 'service2-envoy');
    assert.equal(t.route(request('localhost:8080', '/other')), undefined);
  });
}
