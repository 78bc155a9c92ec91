/**
 * Config errors as values: every problem found while loading a configuration carries the
 * full field path (`static_resources.listeners[0].address.socket_address.port_value`),
 * the reason, and where the file is known, its line and column.
 *
 * Main thread. A loader collects every issue rather than stopping at the first, so one
 * run of `legate --mode validate` shows the user all of them. Envoy counterpart:
 * `EnvoyException` thrown from `MessageUtil::validate` and the config loaders, which
 * report one error at a time.
 */

/** `invalid`: Envoy would reject it too. `unsupported`: valid Envoy, but Legate lacks the extension. */
export type IssueKind = 'invalid' | 'unsupported' | 'warning';

export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface ConfigIssue {
  readonly kind: IssueKind;
  /** The field path in proto field names, e.g. `static_resources.clusters[2].name`. */
  readonly path: string;
  readonly message: string;
  readonly source?: SourcePosition;
}

/**
 * One step of a path. `source` is the key the user actually wrote (a lowerCamelCase
 * name, or nothing for a list index Legate supplied itself when a single mapping stood
 * where a list belongs); it is what locates the step in the YAML document.
 */
export interface PathStep {
  readonly parent: PathStep | undefined;
  readonly kind: 'field' | 'index' | 'key';
  readonly name: string | number;
  readonly source: string | number | undefined;
}

/** `source` defaults to the proto name; the locator tries the lowerCamelCase spelling too. */
export function fieldStep(parent: PathStep | undefined, name: string, source: string = name): PathStep {
  return { parent, kind: 'field', name, source };
}

export function indexStep(parent: PathStep | undefined, index: number, implicit = false): PathStep {
  return { parent, kind: 'index', name: index, source: implicit ? undefined : index };
}

export function keyStep(parent: PathStep | undefined, key: string): PathStep {
  return { parent, kind: 'key', name: key, source: key };
}

/** Builds a root step for a document that lives below a prefix (e.g. a merged `--config-yaml`). */
export function rootPath(prefix?: string): PathStep | undefined {
  return prefix === undefined
    ? undefined
    : { parent: undefined, kind: 'field', name: prefix, source: undefined };
}

export function formatPath(step: PathStep | undefined): string {
  const parts: string[] = [];
  for (let s = step; s !== undefined; s = s.parent) {
    if (s.kind === 'index') parts.push(`[${s.name}]`);
    else if (s.kind === 'key') parts.push(`[${JSON.stringify(s.name)}]`);
    else parts.push(s.parent === undefined ? String(s.name) : `.${s.name}`);
  }
  return parts.reverse().join('');
}

/** The keys as written in the source document, for locating a path in it. */
export function sourceKeys(step: PathStep | undefined): Array<string | number> {
  const keys: Array<string | number> = [];
  for (let s = step; s !== undefined; s = s.parent) {
    if (s.source !== undefined) keys.push(s.source);
  }
  return keys.reverse();
}

/** Collects issues; `locate` (set by the loader of a file) turns a path into a line and column. */
export class IssueSink {
  readonly issues: ConfigIssue[] = [];
  locate: ((step: PathStep | undefined) => SourcePosition | undefined) | undefined;

  error(step: PathStep | undefined, message: string, source?: SourcePosition): void {
    this.add('invalid', step, message, source);
  }

  unsupported(step: PathStep | undefined, message: string): void {
    this.add('unsupported', step, message);
  }

  warn(step: PathStep | undefined, message: string): void {
    this.add('warning', step, message);
  }

  private add(kind: IssueKind, step: PathStep | undefined, message: string, at?: SourcePosition): void {
    const source = at ?? this.locate?.(step);
    const issue: ConfigIssue = source
      ? { kind, path: formatPath(step), message, source }
      : { kind, path: formatPath(step), message };
    this.issues.push(issue);
  }

  get errors(): ConfigIssue[] {
    return this.issues.filter((i) => i.kind !== 'warning');
  }

  get warnings(): ConfigIssue[] {
    return this.issues.filter((i) => i.kind === 'warning');
  }
}

/** One line per issue: `file:line:col: path: reason`, the form editors and CI logs link. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.source ? `${issue.source.file}:${issue.source.line}:${issue.source.column}: ` : '';
  const path = issue.path === '' ? '' : `${issue.path}: `;
  const tag = issue.kind === 'warning' ? 'warning: ' : '';
  return `${where}${tag}${path}${issue.message}`;
}
