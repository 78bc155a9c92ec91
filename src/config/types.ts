/**
 * Type-only contracts of the config layer: decoded proto values and the extension
 * factory interface every compiled-in extension implements.
 *
 * Decoded messages are plain, structured-cloneable data (they cross to worker threads as
 * they are): fields keyed by their proto names, only fields that were set are present,
 * wrapper types are plain values, Duration/Timestamp are `{ seconds, nanos }`, enums are
 * value names, 64-bit integers are numbers (bigint beyond 2^53), bytes are Uint8Array,
 * Struct/Value are plain JSON, and an Any is the decoded message with its `@type`.
 */
import type { PathStep } from './errors.ts';

export type ProtoValue = string | number | bigint | boolean | null | Uint8Array | ProtoMessage | ProtoValue[];

export interface ProtoMessage {
  [field: string]: ProtoValue | undefined;
}

export interface Duration {
  readonly seconds: number;
  readonly nanos: number;
}

/** What a factory may ask of the loader while it builds its internal config. */
export interface ExtensionContext {
  /** Path of the typed config being built, for errors. */
  readonly step: PathStep | undefined;
  error(step: PathStep | undefined, message: string): void;
  /** Valid Envoy config that Legate does not implement (a feature of an extension it has). */
  unsupported(step: PathStep | undefined, message: string): void;
  warn(step: PathStep | undefined, message: string): void;
  /** The resolved extension for a nested extension-bearing message (e.g. one `HttpFilter`). */
  extensionOf(owner: ProtoMessage): ResolvedExtension | undefined;
  /** Records that this config needs the named cluster to exist (checked after loading). */
  requireCluster(name: string, step: PathStep | undefined): void;
}

/**
 * A compiled-in extension: looked up by type URL first, then by Envoy's extension name,
 * as Envoy's `Config::Utility::getAndCheckFactory` does.
 */
export interface ExtensionFactory<C = unknown> {
  /** Envoy's extension name, e.g. `envoy.filters.network.tcp_proxy`. */
  readonly name: string;
  /** Envoy's extension category, e.g. `envoy.filters.network`. */
  readonly category: string;
  /** Full message names of the config types it accepts, e.g. `envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`. */
  readonly configTypes: readonly string[];
  /** Per-route config types (HTTP filters), found under `typed_per_filter_config`. */
  readonly routeConfigTypes?: readonly string[];
  /** Other names it answers to (Envoy's deprecated aliases). */
  readonly aliases?: readonly string[];
  /**
   * A filter that ends its chain (the router, tcp_proxy, the HTTP connection manager):
   * Envoy's `isTerminalFilterByProto`. Only it may stand last in a filter chain.
   */
  readonly terminal?: boolean;
  /** Builds the internal config the runtime uses from the decoded, validated message. */
  createConfig(config: ProtoMessage, ctx: ExtensionContext): C;
}

export interface ResolvedExtension {
  readonly name: string;
  readonly category: string;
  readonly typeUrl: string;
  readonly factory: ExtensionFactory;
  /** What `createConfig` returned. */
  readonly config: unknown;
  /** True when this is per-route config (`typed_per_filter_config`). */
  readonly perRoute: boolean;
}
