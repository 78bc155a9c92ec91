/**
 * The terminal-filter rule of a filter chain: a terminal filter (the router, tcp_proxy,
 * the HTTP connection manager) must end its chain, and only a terminal filter may.
 *
 * Main thread, at config load: used for network filter chains (`bootstrap-checks.ts`) and
 * HTTP filter chains (the HTTP connection manager's factory). Envoy counterpart:
 * `Config::Utility::validateTerminalFilters`, with its messages.
 */
import type { PathStep } from './errors.ts';
import type { ResolvedExtension } from './types.ts';

export interface ChainedFilter {
  /** The filter's `name` as configured. */
  readonly name: string;
  readonly step: PathStep | undefined;
  /** Undefined when the filter did not resolve (reported already, or an optional one skipped). */
  readonly resolved: ResolvedExtension | undefined;
}

/**
 * Positions count every configured filter, so an optional filter Legate lacks that stands
 * last still leaves the router "not last", as in Envoy.
 */
export function validateTerminalFilters(
  filters: readonly ChainedFilter[],
  chainType: string,
  report: (step: PathStep | undefined, message: string) => void,
): void {
  filters.forEach((filter, i) => {
    if (filter.resolved === undefined) return;
    const terminal = filter.resolved.factory.terminal === true;
    const last = i === filters.length - 1;
    if (terminal && !last) {
      report(
        filter.step,
        `terminal filter named ${filter.name} of type ${filter.resolved.name} must be the last filter in a ${chainType} filter chain`,
      );
    } else if (!terminal && last) {
      report(
        filter.step,
        `non-terminal filter named ${filter.name} of type ${filter.resolved.name} is the last filter in a ${chainType} filter chain`,
      );
    }
  });
}
