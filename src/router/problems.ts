/**
 * Problems found while compiling a route table, as values with a path below the
 * `RouteConfiguration` (`virtual_hosts[0].routes[2].match.safe_regex.regex`), so the HTTP
 * connection manager's factory can report each under its own field path.
 *
 * Any thread (compilation runs on main to validate and on every worker to build). Envoy
 * counterpart: the `EnvoyException`s thrown while `ConfigImpl` is built, which stop at the
 * first; here every problem is collected.
 */

/** `invalid`: Envoy rejects it too. `unsupported`: valid Envoy that Legate does not implement. */
export type RouteConfigProblemKind = 'invalid' | 'unsupported' | 'warning';

export type ProblemPath = readonly (string | number)[];

export interface RouteConfigProblem {
  readonly kind: RouteConfigProblemKind;
  /** Proto field names and list indices below the RouteConfiguration. */
  readonly path: ProblemPath;
  readonly message: string;
  /**
   * The proto schema (protoc-gen-validate rules) already rejects this, so a caller that has
   * validated the config against the schema need not report it again.
   */
  readonly schema?: boolean;
}

/** `virtual_hosts[0].routes[2].match`. */
export function formatProblemPath(path: ProblemPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

/** `virtual_hosts[0].routes[2].match: message`. */
export function formatRouteConfigProblem(p: RouteConfigProblem): string {
  const path = formatProblemPath(p.path);
  const tag = p.kind === 'warning' ? 'warning: ' : '';
  return path === '' ? `${tag}${p.message}` : `${tag}${path}: ${p.message}`;
}

/** Collects problems while a route table compiles. */
export class ProblemSink {
  readonly problems: RouteConfigProblem[] = [];

  invalid(path: ProblemPath, message: string): void {
    this.problems.push({ kind: 'invalid', path, message });
  }

  /** Invalid, and also a violation of the proto schema's own rules (see `schema`). */
  invalidBySchema(path: ProblemPath, message: string): void {
    this.problems.push({ kind: 'invalid', path, message, schema: true });
  }

  unsupported(path: ProblemPath, message: string): void {
    this.problems.push({ kind: 'unsupported', path, message });
  }

  warn(path: ProblemPath, message: string): void {
    this.problems.push({ kind: 'warning', path, message });
  }

  /** Whether anything stops the table from being used (warnings do not). */
  get failed(): boolean {
    return this.problems.some((p) => p.kind !== 'warning');
  }

  /**
   * Reports every set field of `m` that is neither handled nor knowingly ignored as
   * unsupported: a field Legate would otherwise skip silently changes behaviour.
   */
  unknownFields(
    m: Readonly<Record<string, unknown>>,
    path: ProblemPath,
    known: ReadonlySet<string>,
    what: string,
  ): void {
    for (const field of Object.keys(m)) {
      if (m[field] === undefined || known.has(field)) continue;
      this.unsupported([...path, field], `${what}.${field} is not supported by Legate`);
    }
  }
}

/** Thrown by `compileRouteTable` for a configuration that has problems. */
export class RouteConfigError extends Error {
  readonly problems: readonly RouteConfigProblem[];

  constructor(problems: readonly RouteConfigProblem[]) {
    super(`invalid route configuration: ${problems.map(formatRouteConfigProblem).join('; ')}`);
    this.name = 'RouteConfigError';
    this.problems = problems;
  }
}
