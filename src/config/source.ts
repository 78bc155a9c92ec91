/**
 * Reading a config document: `.yaml`, `.yml` or `.json` text into plain JSON values,
 * keeping the YAML node tree so an issue's path can be turned back into a line and column.
 *
 * Main thread. JSON is read by the same YAML 1.2 parser (JSON is a subset of it), so both
 * get positions. Integers are read as bigints when they do not fit a double, so 64-bit
 * values survive. Duplicate keys are an error, as in Envoy's YAML loader.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { IssueSink, PathStep, SourcePosition } from './errors.ts';
import { sourceKeys } from './errors.ts';
import { jsonNameOf } from './proto-schema.ts';

export interface ConfigDocument {
  /** File name for messages (`<--config-yaml>` for the flag). */
  readonly name: string;
  readonly value: unknown;
  /** Line and column of the node a path leads to (as far as the path exists in the text). */
  locate(step: PathStep | undefined): SourcePosition | undefined;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Reads a config file; problems reading or parsing it go to `sink`, and the result is undefined. */
export function readConfigFile(file: string, sink: IssueSink): ConfigDocument | undefined {
  const ext = path.extname(file).toLowerCase();
  if (!EXTENSIONS.has(ext)) {
    sink.error(
      undefined,
      `${file}: unsupported config file extension '${ext}'; Legate reads .yaml, .yml and .json`,
    );
    return undefined;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    sink.error(
      undefined,
      `${file}: cannot read the config file (${code === 'ENOENT' ? 'no such file' : (code ?? String(err))})`,
    );
    return undefined;
  }
  return parseConfigText(text, file, sink);
}

export function parseConfigText(text: string, name: string, sink: IssueSink): ConfigDocument | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { intAsBigInt: true, uniqueKeys: true, lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const at = lineCounter.linePos(e.pos[0]);
      sink.error(
        undefined,
        `${e.code === 'DUPLICATE_KEY' ? 'duplicate key' : 'YAML syntax error'}: ${firstLine(e.message)}`,
        { file: name, line: at.line, column: at.col },
      );
    }
    return undefined;
  }
  const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (value === null || value === undefined) {
    sink.error(undefined, `${name}: the config is empty`);
    return undefined;
  }
  const locate = (step: PathStep | undefined): SourcePosition | undefined => {
    let node: Node | null | undefined = doc.contents;
    let offset = node?.range?.[0];
    for (const key of sourceKeys(step)) {
      if (typeof key === 'number' && isSeq(node)) {
        node = node.items[key] as Node | undefined;
        offset = node?.range?.[0] ?? offset;
      } else if (typeof key === 'string' && isMap(node)) {
        const pair = node.items.find((p) => {
          const k = isScalar(p.key) ? p.key.value : p.key;
          return k === key || k === jsonNameOf(key);
        });
        if (pair === undefined) break;
        offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
        node = pair.value as Node | null;
      } else if (typeof key === 'number' && isMap(node)) {
        // a single mapping where a list belongs: index 0 is the mapping itself
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const at = lineCounter.linePos(offset);
    return { file: name, line: at.line, column: at.col };
  };
  return { name, value, locate };
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
