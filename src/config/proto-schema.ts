/**
 * The configuration schema: Envoy's own v3 `.proto` files, loaded once per process.
 *
 * Runs on the main thread (config loading and validation happen there only). Owns the
 * protobufjs Root holding every Envoy v3 message, the xDS/udpa annotation and TypedStruct
 * messages and protoc-gen-validate's rules. The files come from the registry package
 * `@grpc/grpc-js-xds` (its `deps/` folder, version pinned in package.json); nothing is
 * copied into this repository. v2 / v1 / alpha API trees are not loaded: Envoy removed
 * them, and a handful of v3 files whose imports the package does not ship (OpenCensus,
 * OpenTelemetry and Prometheus client protos) are left out with them.
 *
 * Envoy counterpart: the descriptor pool compiled into the binary, as used by
 * `MessageUtil::loadFromJson` and `Config::Utility::translateOpaqueConfig`.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';

export type Type = protobuf.Type;
export type Field = protobuf.Field;
export type Enum = protobuf.Enum;
export type OneOf = protobuf.OneOf;

const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Extra files loaded besides the Envoy API tree: TypedStruct in both its homes. */
const EXTRA_FILES = ['xds/type/v3/typed_struct.proto', 'udpa/type/v1/typed_struct.proto'];

export interface ProtoSchema {
  readonly root: protobuf.Root;
  /** Loaded file count and the files skipped for missing imports (for diagnostics). */
  readonly loadedFiles: number;
  readonly skippedFiles: readonly string[];
  /** Finds a message type by full name (no leading dot) or by type URL. */
  lookupMessage(nameOrUrl: string): Type | undefined;
  /**
   * Envoy's extension name for a config message, read from the `[#extension: ...]` tag of
   * the proto file that declares it (`envoy.filters.http.router` for `...router.v3.Router`).
   */
  extensionNameOf(messageName: string): string | undefined;
  /** The config message of an Envoy extension name: the first message its proto file declares. */
  extensionConfigType(extensionName: string): string | undefined;
  /** The v3 message that replaced a v2 one (`envoy.api.v2.Cluster` -> `envoy.config.cluster.v3.Cluster`). */
  v3NameOf(v2MessageName: string): string | undefined;
}

let cached: ProtoSchema | undefined;

/** The process-wide schema; loading takes a few hundred milliseconds, once. */
export function protoSchema(): ProtoSchema {
  cached ??= loadSchema();
  return cached;
}

function depsRoot(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve('@grpc/grpc-js-xds/package.json');
  return path.join(path.dirname(pkgJson), 'deps');
}

function protobufjsDescriptor(): string {
  const require = createRequire(import.meta.url);
  return path.join(
    path.dirname(require.resolve('protobufjs/package.json')),
    'google/protobuf/descriptor.proto',
  );
}

/** Recursively lists the `.proto` files of the Envoy v3 API. */
function listApiFiles(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (/^v\d+alpha\d*$|^v[12]$/.test(entry.name)) continue;
      listApiFiles(full, out);
    } else if (entry.name.endsWith('.proto')) {
      out.push(full);
    }
  }
  return out;
}

const EXTENSION_TAG_RE = /\[#extension: *([\w.-]+)\]/g;
const PACKAGE_RE = /^package\s+([\w.]+)\s*;/m;
const TOP_LEVEL_MESSAGE_RE = /^message\s+(\w+)\s*\{/gm;
/** The well-known types protobufjs ships as JSON (descriptor.proto is parsed from its file). */
const BUNDLED_FILES = [
  'google/protobuf/any.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/empty.proto',
  'google/protobuf/field_mask.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/wrappers.proto',
];
const IMPORT_RE = /^import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

function loadSchema(): ProtoSchema {
  const deps = depsRoot();
  const includeDirs = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((d) =>
    path.join(deps, d),
  );
  const descriptor = protobufjsDescriptor();
  const BUNDLED = '<bundled>';

  const resolved = new Map<string, string | undefined>();
  const resolveImport = (target: string): string | undefined => {
    if (target === 'google/protobuf/descriptor.proto') return descriptor;
    if (target.startsWith('google/protobuf/')) return BUNDLED; // protobufjs ships the well-known types
    if (resolved.has(target)) return resolved.get(target);
    const found = includeDirs
      .map((dir) => path.join(dir, target))
      .find((candidate) => fs.existsSync(candidate));
    resolved.set(target, found);
    return found;
  };

  // Skip files whose transitive imports the package does not ship, rather than fail.
  const loadable = new Map<string, boolean>();
  const sources = new Map<string, string>();
  const skipped: string[] = [];
  const isLoadable = (file: string, visiting: Set<string>): boolean => {
    if (file === BUNDLED) return true;
    const known = loadable.get(file);
    if (known !== undefined) return known;
    if (visiting.has(file)) return true;
    visiting.add(file);
    let ok = true;
    const text = fs.readFileSync(file, 'utf8');
    sources.set(file, text);
    for (const match of text.matchAll(IMPORT_RE)) {
      const resolved = resolveImport(match[1] ?? '');
      if (resolved === undefined || !isLoadable(resolved, visiting)) ok = false;
    }
    loadable.set(file, ok);
    return ok;
  };

  const apiDir = path.join(deps, 'envoy-api');
  const candidates = [
    ...listApiFiles(path.join(apiDir, 'envoy')),
    ...EXTRA_FILES.map((f) => resolveImport(f) ?? f),
  ];
  const files: string[] = [];
  for (const file of candidates) {
    if (isLoadable(file, new Set())) files.push(file);
    else skipped.push(path.relative(deps, file));
  }

  // Parse the sources already read, rather than Root.loadSync: that reads every file again
  // and then resolves every type of the API, most of which a config never touches. Types
  // are resolved lazily, as the decoder first meets them.
  const root = new protobuf.Root();
  for (const name of BUNDLED_FILES) {
    const bundled = protobuf.common.get(name);
    if (bundled?.nested !== undefined) root.addJSON(bundled.nested);
  }
  for (const [file, ok] of loadable) {
    if (ok) protobuf.parse(sources.get(file) ?? '', root, { keepCase: true });
  }

  const byName = new Map<string, Type>();
  const lookupMessage = (nameOrUrl: string): Type | undefined => {
    const name = nameOrUrl.startsWith(TYPE_URL_PREFIX)
      ? nameOrUrl.slice(TYPE_URL_PREFIX.length)
      : nameOrUrl.includes('/')
        ? nameOrUrl.slice(nameOrUrl.lastIndexOf('/') + 1)
        : nameOrUrl;
    let found = byName.get(name);
    if (found === undefined) {
      try {
        const reflected = root.lookup(name);
        if (reflected instanceof protobuf.Type) {
          found = reflected;
          byName.set(name, found);
        }
      } catch {
        return undefined;
      }
    }
    return found;
  };

  // Extension names, from the documentation tags of the files Envoy registers them in.
  const extensionByType = new Map<string, string>();
  const typeByExtension = new Map<string, string>();
  for (const file of files) {
    const text = sources.get(file) ?? '';
    const pkg = PACKAGE_RE.exec(text);
    const tags = [...text.matchAll(EXTENSION_TAG_RE)];
    if (pkg === null || tags.length === 0) continue;
    // Each message belongs to the nearest tag before it (files such as stream.proto hold two).
    for (const m of text.matchAll(TOP_LEVEL_MESSAGE_RE)) {
      let owner = tags[0];
      for (const t of tags) if ((t.index ?? 0) < (m.index ?? 0)) owner = t;
      const extensionName = owner?.[1] ?? '';
      const messageName = `${pkg[1]}.${m[1]}`;
      extensionByType.set(messageName, extensionName);
      if (!typeByExtension.has(extensionName)) typeByExtension.set(extensionName, messageName);
    }
  }

  let v2Index: Map<string, string> | undefined;
  const v3NameOf = (v2MessageName: string): string | undefined => {
    if (v2Index === undefined) {
      v2Index = new Map();
      const visit = (ns: protobuf.NamespaceBase): void => {
        for (const nested of ns.nestedArray) {
          if (nested instanceof protobuf.Type) {
            const previous = optionsOf(nested)['(udpa.annotations.versioning)'];
            if (previous !== null && typeof previous === 'object' && 'previous_message_type' in previous) {
              v2Index?.set(String(previous.previous_message_type), fullName(nested));
            }
          }
          if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
        }
      };
      visit(root);
    }
    // Follow the chain (v2 -> v3alpha -> v3) to the newest name we hold.
    let name = v2Index.get(v2MessageName);
    for (let hop = 0; name !== undefined && hop < 4; hop++) {
      const next = v2Index.get(name);
      if (next === undefined) break;
      name = next;
    }
    return name;
  };

  return {
    root,
    loadedFiles: files.length,
    skippedFiles: skipped,
    lookupMessage,
    extensionNameOf: (messageName) => extensionByType.get(messageName),
    extensionConfigType: (extensionName) => typeByExtension.get(extensionName),
    v3NameOf,
  };
}

/** Full name of a reflected type without protobufjs's leading dot. */
export function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.startsWith('.') ? t.fullName.slice(1) : t.fullName;
}

export function typeUrlOf(messageName: string): string {
  return TYPE_URL_PREFIX + messageName;
}

/** protoc's lowerCamelCase JSON name of a field (`port_value` -> `portValue`). */
export function jsonNameOf(protoName: string): string {
  let out = '';
  let upper = false;
  for (const ch of protoName) {
    if (ch === '_') {
      upper = true;
    } else if (upper) {
      out += ch.toUpperCase();
      upper = false;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Merges the parsed options of a reflected object into one nested record, so that
 * `[(validate.rules).uint32.lte = 65535, (validate.rules).uint32.gte = 1]` reads as
 * `{ '(validate.rules)': { uint32: { lte: 65535, gte: 1 } } }`.
 */
export function optionsOf(obj: {
  parsedOptions?: unknown;
  options?: Record<string, unknown>;
}): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const parsed = obj.parsedOptions;
  if (Array.isArray(parsed)) {
    for (const entry of parsed) {
      if (entry !== null && typeof entry === 'object') deepMerge(merged, entry as Record<string, unknown>);
    }
  }
  // Plain options (e.g. `deprecated = true`) are kept by protobufjs in `options` only.
  if (obj.options) {
    for (const [k, v] of Object.entries(obj.options)) {
      if (!k.startsWith('(') && !(k in merged)) merged[k] = v;
    }
  }
  return merged;
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    const existing = into[k];
    if (isRecord(existing) && isRecord(v)) deepMerge(existing, v);
    else into[k] = isRecord(v) ? structuredClone(v) : v;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
