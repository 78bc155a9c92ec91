/**
 * The bootstrap's `layered_runtime`, read into layer specs; Envoy's default when it has none.
 *
 * Main thread, once at start-up. Checks what Envoy's `LoaderImpl` refuses when it is built:
 * two layers with one name, more than one admin layer, a static layer value that is a list
 * or null. An `rtds_layer` is valid Envoy that this build does not serve yet: refused, with
 * its path. With no layers at all, the runtime is Envoy's default: a static layer `base`
 * with nothing in it, and an admin layer `admin`. Envoy counterpart: `LoaderImpl`'s
 * constructor, `Configuration::InitialImpl` (the default layers).
 */
import type { PathStep } from '../config/errors.ts';
import { keyStep } from '../config/errors.ts';
import { at, boolField, isMessage, messageField, messageList, stringField } from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import { hasRuntimeFeaturePrefix, RUNTIME_FEATURE_DEFAULTS } from './features.ts';
import { type StaticLayerError, staticLayerValues } from './layers.ts';
import type { RuntimeEntry } from './types.ts';

export type LayerSpec =
  | { readonly kind: 'static'; readonly name: string; readonly values: ReadonlyMap<string, RuntimeEntry> }
  | {
      readonly kind: 'disk';
      readonly name: string;
      readonly symlinkRoot: string;
      readonly subdirectory: string;
      readonly appendServiceCluster: boolean;
      /** `layered_runtime.layers[i].disk_layer`, for errors about it. */
      readonly step: PathStep | undefined;
    }
  | { readonly kind: 'admin'; readonly name: string };

export interface RuntimeConfigIssue {
  readonly step: PathStep | undefined;
  readonly message: string;
  /** Valid for Envoy, but this build cannot serve it (RTDS). */
  readonly unsupported?: boolean;
}

export interface RuntimeConfig {
  readonly layers: readonly LayerSpec[];
  /** What Envoy would refuse, or Legate cannot serve: the server must not start. */
  readonly errors: readonly RuntimeConfigIssue[];
  /** Worth a log line: feature keys this build does not know. */
  readonly warnings: readonly RuntimeConfigIssue[];
}

const SPECIFIERS = ['static_layer', 'disk_layer', 'admin_layer', 'rtds_layer'] as const;

/** Reads `bootstrap.layered_runtime`. */
export function runtimeConfig(bootstrap: ProtoMessage): RuntimeConfig {
  const root = at(undefined, 'layered_runtime');
  const layered = messageList(messageField(bootstrap, 'layered_runtime'), 'layers');
  if (layered.length === 0) {
    return {
      layers: [
        { kind: 'static', name: 'base', values: new Map() },
        { kind: 'admin', name: 'admin' },
      ],
      errors: [],
      warnings: [],
    };
  }
  const layers: LayerSpec[] = [];
  const errors: RuntimeConfigIssue[] = [];
  const warnings: RuntimeConfigIssue[] = [];
  const names = new Set<string>();
  let adminLayers = 0;
  layered.forEach((layer, i) => {
    const step = at(root, 'layers', i);
    const name = stringField(layer, 'name');
    if (names.has(name)) {
      errors.push({ step: at(step, 'name'), message: `Duplicate layer name: ${name}` });
      return;
    }
    names.add(name);
    const specifier = SPECIFIERS.find((s) => layer[s] !== undefined);
    switch (specifier) {
      case 'static_layer': {
        const struct = layer['static_layer'];
        const problems: StaticLayerError[] = [];
        const values = staticLayerValues(isMessage(struct) ? struct : {}, problems);
        for (const p of problems) {
          let s = at(step, 'static_layer');
          for (const k of p.keys) s = keyStep(s, k);
          errors.push({ step: s, message: p.message });
        }
        for (const [key, entry] of values)
          if (hasRuntimeFeaturePrefix(key) && !RUNTIME_FEATURE_DEFAULTS.has(key) && entry.bool !== undefined)
            warnings.push({
              step: at(step, 'static_layer'),
              message: `${key}: this build has no such runtime feature; nothing reads it`,
            });
        layers.push({ kind: 'static', name, values });
        return;
      }
      case 'disk_layer': {
        const disk = messageField(layer, 'disk_layer');
        layers.push({
          kind: 'disk',
          name,
          symlinkRoot: stringField(disk, 'symlink_root'),
          subdirectory: stringField(disk, 'subdirectory'),
          appendServiceCluster: boolField(disk, 'append_service_cluster'),
          step: at(step, 'disk_layer'),
        });
        return;
      }
      case 'admin_layer':
        if (++adminLayers > 1) {
          errors.push({
            step: at(step, 'admin_layer'),
            message: 'Too many admin layers specified in LayeredRuntime, at most one may be specified',
          });
          return;
        }
        layers.push({ kind: 'admin', name });
        return;
      case 'rtds_layer':
        errors.push({
          unsupported: true,
          step: at(step, 'rtds_layer'),
          message:
            'RTDS runtime layers are not supported yet by Legate (use static_layer, disk_layer or admin_layer)',
        });
        return;
      case undefined:
        errors.push({
          step,
          message: 'a runtime layer needs one of static_layer, disk_layer, admin_layer or rtds_layer',
        });
        return;
    }
  });
  return { layers, errors, warnings };
}
