/**
 * The extension registry: compiled-in factories by Envoy extension name and by config type URL.
 *
 * Built once on the main thread from the one list in `src/exe/extensions.ts`; read-only
 * afterwards. Look-up goes by type URL first, then by name, as Envoy's
 * `Config::Utility::getAndCheckFactory` does. Core code never imports an extension: it
 * reaches them only through this registry.
 */
import { typeUrlOf } from './proto-schema.ts';
import type { ExtensionFactory } from './types.ts';

export class ExtensionRegistry {
  private readonly byName = new Map<string, ExtensionFactory>();
  private readonly byType = new Map<string, ExtensionFactory>();
  private readonly byRouteType = new Map<string, ExtensionFactory>();

  constructor(factories: readonly ExtensionFactory[] = []) {
    for (const f of factories) this.register(f);
  }

  register(factory: ExtensionFactory): void {
    for (const name of [factory.name, ...(factory.aliases ?? [])]) {
      if (this.byName.has(name)) throw new Error(`bug: extension ${name} registered twice`);
      this.byName.set(name, factory);
    }
    for (const t of factory.configTypes) this.byType.set(typeUrlOf(t), factory);
    for (const t of factory.routeConfigTypes ?? []) this.byRouteType.set(typeUrlOf(t), factory);
  }

  /** Removes extensions by name (`--disable-extensions`); returns the names that were unknown. */
  disable(names: readonly string[]): string[] {
    const unknown: string[] = [];
    for (const name of names) {
      const f = this.byName.get(name);
      if (f === undefined) {
        unknown.push(name);
        continue;
      }
      for (const n of [f.name, ...(f.aliases ?? [])]) this.byName.delete(n);
      for (const t of f.configTypes) this.byType.delete(typeUrlOf(t));
      for (const t of f.routeConfigTypes ?? []) this.byRouteType.delete(typeUrlOf(t));
    }
    return unknown;
  }

  /** Type URLs compare by message name, so `type.googleapis.com/x.Y` and `example.com/x.Y` agree. */
  findByTypeUrl(url: string, perRoute = false): ExtensionFactory | undefined {
    const canonical = typeUrlOf(url.slice(url.lastIndexOf('/') + 1));
    return (perRoute ? this.byRouteType : this.byType).get(canonical);
  }

  findByName(name: string): ExtensionFactory | undefined {
    return this.byName.get(name);
  }

  /** Every compiled-in extension, sorted by category then name (for `--help` and the admin). */
  list(): ExtensionFactory[] {
    return [...new Set(this.byName.values())].sort(
      (a, b) => a.category.localeCompare(b.category) || a.name.localeCompare(b.name),
    );
  }
}
