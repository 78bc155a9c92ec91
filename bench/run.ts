/**
 * `npm run bench`: runs every micro benchmark in bench/micro/, each in its own process so
 * one-off costs (schema loading, JIT warm-up) are measured the same way every time.
 * The side-by-side peer benchmarks join this runner with the proxy itself.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.join(import.meta.dirname, 'micro');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const file of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .sort()) {
  if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
  const r = spawnSync(process.execPath, [path.join(dir, file)], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}
