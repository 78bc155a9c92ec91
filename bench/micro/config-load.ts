/**
 * Config loading cost: the largest example of the Envoy compatibility corpus, decoded,
 * validated and with every typed config resolved to its extension's internal config.
 *
 * Prints the one-off schema load (Envoy's protos parsed at start-up), the first full load
 * in a fresh process (what `legate --mode validate` pays), and the warm per-load time.
 * Run alone: `node bench/micro/config-load.ts [file]`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/bootstrap.ts';
import { protoSchema } from '../../src/config/proto-schema.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';

const EXAMPLES = path.resolve(import.meta.dirname, '../../../shared/envoy-examples');

function largestExample(): string | undefined {
  if (!fs.existsSync(EXAMPLES)) return undefined;
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  walk(EXAMPLES);
  return files.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
}

const file =
  process.argv[2] ?? largestExample() ?? path.resolve(import.meta.dirname, '../../configs/legate.yaml');
const registry = new ExtensionRegistry(compiledInExtensions);

const t0 = performance.now();
const schema = protoSchema();
const t1 = performance.now();
const first = loadConfig({ configPath: file }, { registry });
const t2 = performance.now();
if (first.errors.length > 0) throw new Error(`${file} does not load cleanly: ${first.errors[0]?.message}`);

const iterations = 200;
const w0 = performance.now();
for (let i = 0; i < iterations; i++) loadConfig({ configPath: file }, { registry });
const warm = (performance.now() - w0) / iterations;

console.log(
  `config-load: ${path.relative(process.cwd(), file)} (${fs.statSync(file).size} bytes, ${first.extensions.size} typed configs resolved)`,
);
console.log(
  `  schema load (once per process, ${schema.loadedFiles} proto files): ${(t1 - t0).toFixed(1)} ms`,
);
console.log(`  first load incl. schema (cold, as --mode validate): ${(t2 - t0).toFixed(1)} ms`);
console.log(`  warm load + validate + resolve: ${(warm * 1000).toFixed(0)} µs/op (${iterations} runs)`);
