/**
 * The runtime features this build guards, with their defaults: Envoy's
 * `envoy.reloadable_features.*` (flip at any time) and `envoy.restart_features.*` (read at
 * start-up), each naming a behaviour change a runtime key can turn on or off.
 *
 * Data, any thread. A behaviour that Envoy puts behind a guard, once Legate implements both
 * sides of it, declares the guard here and reads it with `snapshot.runtimeFeatureEnabled`.
 * A layer that sets a feature not listed here is warned about when it loads (Envoy's "Using
 * a removed guard"): nothing reads it. Envoy counterpart: `source/common/runtime/runtime_features.cc`.
 */

/** Feature name -> enabled when no layer sets it. */
export const RUNTIME_FEATURE_DEFAULTS: ReadonlyMap<string, boolean> = new Map<string, boolean>([]);

const FEATURE_PREFIXES = ['envoy.reloadable_features.', 'envoy.restart_features.'] as const;

/** Whether `key` is in a runtime feature namespace (whether or not this build knows the feature). */
export function hasRuntimeFeaturePrefix(key: string): boolean {
  return FEATURE_PREFIXES.some((p) => key.startsWith(p));
}
