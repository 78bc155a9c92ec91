/**
 * The layers a runtime snapshot is built from: a static layer (a bootstrap Struct), a disk
 * layer (a directory tree read at every load), and the admin layer (`/runtime_modify`).
 *
 * Main thread. A static layer is flattened once, when the config loads: nested keys join
 * with '.', a struct that is empty or names `numerator` / `denominator` is a
 * FractionalPercent leaf, and a list or null is an error naming the key. A disk layer walks
 * its directory: each regular file is a key (its path below the directory, '/' -> '.'),
 * its contents the value (lines starting with '#' dropped, trailing space of the last line
 * trimmed); at most 16 levels deep. The admin layer holds the overrides set over the admin.
 * Envoy counterpart: `ProtoLayer`, `DiskLayer`, `AdminLayer` (source/common/runtime/runtime_impl.cc).
 */
import fs from 'node:fs';
import path from 'node:path';
import { entryFromText, entryFromValue } from './entry.ts';
import type { RuntimeEntry, RuntimeLayer } from './types.ts';

/** Envoy's `MaxWalkDepth`. */
const MAX_WALK_DEPTH = 16;

/** A value of a static layer that cannot be a runtime entry. */
export interface StaticLayerError {
  /** The flattened key, e.g. `a.b.c`, and its path of Struct keys. */
  readonly key: string;
  readonly keys: readonly string[];
  readonly message: string;
}

/** Flattens a static layer's Struct into entries; `errors` gets one line per invalid value. */
export function staticLayerValues(
  struct: Readonly<Record<string, unknown>>,
  errors: StaticLayerError[],
): Map<string, RuntimeEntry> {
  const values = new Map<string, RuntimeEntry>();
  const walk = (value: unknown, keys: string[]): void => {
    const key = keys.join('.');
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values.set(key, entryFromValue(value));
      return;
    }
    if (value === null || value === undefined || Array.isArray(value) || typeof value !== 'object') {
      errors.push({ key, keys, message: `Invalid runtime entry value for ${key}` });
      return;
    }
    const o = value as Record<string, unknown>;
    const fields = Object.keys(o);
    if (fields.length === 0 || 'numerator' in o || 'denominator' in o) {
      values.set(key, entryFromValue(o));
      return;
    }
    for (const f of fields) walk(o[f], [...keys, f]);
  };
  for (const [field, value] of Object.entries(struct)) walk(value, [field]);
  return values;
}

/**
 * Reads a disk layer's tree.
 * @throws Error when the walk goes deeper than 16 levels or a file cannot be read (the
 *   layer is then left out of the snapshot, and the load counts as an error).
 */
export function readDiskLayer(dir: string): Map<string, RuntimeEntry> {
  const values = new Map<string, RuntimeEntry>();
  walkDirectory(dir, '', 1, values);
  return values;
}

function walkDirectory(dir: string, prefix: string, depth: number, values: Map<string, RuntimeEntry>): void {
  if (depth > MAX_WALK_DEPTH) throw new Error(`Walk recursion depth exceeded ${MAX_WALK_DEPTH}`);
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const key = prefix === '' ? name : `${prefix}.${name}`;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full); // follows symbolic links, as Envoy's directory walk does
    } catch {
      continue; // a dangling link: neither a file nor a directory
    }
    if (stat.isDirectory()) walkDirectory(full, key, depth + 1, values);
    else if (stat.isFile()) values.set(key, entryFromText(fileValue(fs.readFileSync(full, 'utf8'))));
  }
}

/** A file's value: comment lines dropped, empty lines dropped, the last line's trailing space trimmed. */
function fileValue(text: string): string {
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  const last = lines.length - 1;
  if (last >= 0) lines[last] = lines[last]!.trimEnd();
  return lines.join('\n');
}

/** Where a disk layer reads from: `<symlink_root>/<subdirectory>[/<service cluster>]`. */
export function diskLayerPath(
  symlinkRoot: string,
  subdirectory: string,
  appendServiceCluster: boolean,
  serviceCluster: string,
): string {
  let p = `${symlinkRoot}/${subdirectory}`;
  if (appendServiceCluster) p += `/${serviceCluster}`;
  return p;
}

/** The `/runtime_modify` overrides: set, replaced, removed (an empty value) at run time. */
export class AdminLayer {
  readonly name: string;
  private values = new Map<string, RuntimeEntry>();

  constructor(name: string) {
    this.name = name;
  }

  /** Applies every override at once: an empty value removes the key. */
  mergeValues(overrides: ReadonlyMap<string, string>): void {
    const next = new Map(this.values);
    for (const [key, value] of overrides) {
      next.delete(key);
      if (value !== '') next.set(key, entryFromText(value));
    }
    this.values = next;
  }

  size(): number {
    return this.values.size;
  }

  /** The layer as it is now; later overrides do not change what this returns. */
  layer(): RuntimeLayer {
    return { name: this.name, values: this.values };
  }
}
