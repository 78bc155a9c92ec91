/**
 * Access log formatters: a format string (`text_format`) or a JSON template
 * (`json_format`), compiled once into literal text and parsed command operators, then
 * formatted per log line without parsing again.
 *
 * Any thread: compiled on main to validate a config and on the worker that builds the
 * logger; `format` runs on that worker for every line. A text line is the literals and the
 * commands' values concatenated, a missing value printing `-` (or nothing with
 * `omit_empty_values`). A JSON line is one object and a newline: keys sorted (as Envoy
 * writes them), a string value holding exactly one operator keeps the operator's type (a
 * number stays a number, a missing value is `null`), any other template becomes a string.
 * With `omit_empty_values`, keys whose value is `null` are left out, and so is a nested
 * object left empty. Without it, the constant parts of the JSON are pre-joined so a line
 * is only constant pieces and values. Envoy counterpart: `SubstitutionFormatParser`,
 * `FormatterImpl`, `JsonFormatterImpl` and `OmitEmptyJsonFormatterImpl`
 * (source/common/formatter/substitution_formatter.cc).
 */
import { type Command, type CommandOptions, evaluate, parseCommand } from './commands.ts';
import type { Formatter, FormatterContext } from './types.ts';

export type { Formatter, FormatterContext } from './types.ts';

export interface FormatterOptions extends CommandOptions {
  /** `omit_empty_values`: missing values print nothing (text) or drop their key (JSON). */
  readonly omitEmptyValues?: boolean;
}

export type CompileResult =
  | { readonly ok: true; readonly formatter: Formatter }
  | {
      readonly ok: false;
      readonly error: string;
      /** The operator is valid Envoy config that Legate does not implement. */
      readonly unsupported: boolean;
      /** For a JSON format: the keys (and list indices) down to the value that failed. */
      readonly path: readonly (string | number)[];
    };

/** The regular expression of Envoy's parser: `%COMMAND(SUBCOMMAND):LENGTH%`, at one position. */
const COMMAND_AT = /%([A-Z0-9_]+)(?:\((.*?)\))?(?::([0-9]+))?%/y;

/** A parsed format string: `literals.length === commands.length + 1`, interleaved. */
interface Template {
  readonly literals: readonly string[];
  readonly commands: readonly Command[];
  /** Set when the template is exactly one operator: its value keeps its type in JSON. */
  readonly single: Command | undefined;
}

type ParseFailure = { readonly error: string; readonly unsupported: boolean };

function parseTemplate(format: string, options: CommandOptions): Template | ParseFailure {
  const literals: string[] = [];
  const commands: Command[] = [];
  let token = '';
  let pos = 0;
  while (pos < format.length) {
    const c = format[pos];
    if (c !== '%') {
      token += c;
      pos++;
      continue;
    }
    if (format[pos + 1] === '%') {
      token += '%';
      pos += 2;
      continue;
    }
    COMMAND_AT.lastIndex = pos;
    const m = COMMAND_AT.exec(format);
    if (m === null) {
      return {
        error: `Incorrect configuration: ${format}. Couldn't find valid command at position ${pos}`,
        unsupported: false,
      };
    }
    const length = m[3] === undefined ? undefined : Number(m[3]);
    const parsed = parseCommand(m[1] ?? '', m[2] ?? '', length, options);
    if (!parsed.ok) return parsed;
    pos += m[0].length;
    // A value fixed at parse time (HOSTNAME, ENVIRONMENT) joins the literal text.
    if (parsed.command.constant !== undefined) {
      token += parsed.command.constant;
      continue;
    }
    literals.push(token);
    commands.push(parsed.command);
    token = '';
  }
  literals.push(token);
  const single = commands.length === 1 && literals[0] === '' && literals[1] === '' ? commands[0] : undefined;
  return { literals, commands, single };
}

function isFailure(t: Template | ParseFailure): t is ParseFailure {
  return 'error' in t;
}

/** The template as text; `empty` stands for a missing value. */
function formatText(t: Template, ctx: FormatterContext, empty: string): string {
  const literals = t.literals;
  const commands = t.commands;
  let out = literals[0]!;
  for (let i = 0; i < commands.length; i++) {
    const value = evaluate(commands[i]!, ctx);
    out += value === undefined ? empty : value;
    out += literals[i + 1]!;
  }
  return out;
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** The template as a JSON value; undefined for a single operator whose value is missing. */
function formatJsonValue(t: Template, ctx: FormatterContext, empty: string): string | undefined {
  const single = t.single;
  if (single !== undefined) {
    const value = evaluate(single, ctx);
    if (value === undefined) return undefined;
    return typeof value === 'number' ? jsonNumber(value) : JSON.stringify(value);
  }
  return JSON.stringify(formatText(t, ctx, empty));
}

class TextFormatter implements Formatter {
  private readonly template: Template;
  private readonly empty: string;

  constructor(template: Template, empty: string) {
    this.template = template;
    this.empty = empty;
  }

  format(ctx: FormatterContext): string {
    return formatText(this.template, ctx, this.empty);
  }
}

class ConstantFormatter implements Formatter {
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  format(): string {
    return this.text;
  }
}

/** Compiles a `text_format` string. */
export function compileFormat(format: string, options: FormatterOptions = {}): CompileResult {
  const template = parseTemplate(format, options);
  if (isFailure(template)) return { ok: false, ...template, path: [] };
  if (template.commands.length === 0) {
    return { ok: true, formatter: new ConstantFormatter(template.literals[0] ?? '') };
  }
  return { ok: true, formatter: new TextFormatter(template, options.omitEmptyValues ? '' : '-') };
}

// ---------------------------------------------------------------------------------------
// JSON

/** A JSON format as a tree: constants pre-serialized, keys sorted and pre-serialized. */
type JsonNode =
  | { readonly kind: 'constant'; readonly json: string }
  | { readonly kind: 'template'; readonly template: Template }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly values: readonly JsonNode[] }
  | { readonly kind: 'list'; readonly values: readonly JsonNode[] };

class JsonBuildError {
  readonly error: string;
  readonly unsupported: boolean;
  readonly path: readonly (string | number)[];

  constructor(failure: ParseFailure, path: readonly (string | number)[]) {
    this.error = failure.error;
    this.unsupported = failure.unsupported;
    this.path = path;
  }
}

const UNSUPPORTED_JSON_VALUE =
  'Only string values, nested structs, list values, number values and bool values are supported in structured access log format.';

/**
 * One value of the format. A literal `null` is kept as a constant, or dropped (undefined)
 * when empty values are omitted.
 */
function buildNode(
  value: unknown,
  path: (string | number)[],
  options: FormatterOptions,
): JsonNode | undefined | JsonBuildError {
  if (value === null) return options.omitEmptyValues ? undefined : { kind: 'constant', json: 'null' };
  if (typeof value === 'boolean') return { kind: 'constant', json: value ? 'true' : 'false' };
  if (typeof value === 'number') return { kind: 'constant', json: jsonNumber(value) };
  if (typeof value === 'string') {
    if (!value.includes('%')) return { kind: 'constant', json: JSON.stringify(value) };
    const template = parseTemplate(value, options);
    if (isFailure(template)) return new JsonBuildError(template, [...path]);
    if (template.commands.length === 0) {
      return { kind: 'constant', json: JSON.stringify(template.literals[0] ?? '') };
    }
    return { kind: 'template', template };
  }
  if (Array.isArray(value)) {
    const values: JsonNode[] = [];
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const node = buildNode(value[i], path, options);
      path.pop();
      if (node instanceof JsonBuildError) return node;
      if (node !== undefined) values.push(node);
    }
    return { kind: 'list', values };
  }
  if (typeof value === 'object' && !(value instanceof Uint8Array)) {
    return buildObject(value as Readonly<Record<string, unknown>>, path, options);
  }
  return new JsonBuildError({ error: UNSUPPORTED_JSON_VALUE, unsupported: false }, [...path]);
}

function buildObject(
  object: Readonly<Record<string, unknown>>,
  path: (string | number)[],
  options: FormatterOptions,
): JsonNode | JsonBuildError {
  const keys: string[] = [];
  const values: JsonNode[] = [];
  // Sorted as Envoy sorts them, so lines are the same whatever order the config used.
  for (const key of Object.keys(object).sort()) {
    path.push(key);
    const node = buildNode(object[key], path, options);
    path.pop();
    if (node instanceof JsonBuildError) return node;
    if (node === undefined) continue;
    keys.push(`${JSON.stringify(key)}:`);
    values.push(node);
  }
  return { kind: 'object', keys, values };
}

/** Without omit_empty_values: the constant JSON between templates, pre-joined. */
class FlatJsonFormatter implements Formatter {
  /** `pieces.length === templates.length + 1`; the last piece ends with the newline. */
  private readonly pieces: readonly string[];
  private readonly templates: readonly Template[];

  constructor(pieces: readonly string[], templates: readonly Template[]) {
    this.pieces = pieces;
    this.templates = templates;
  }

  format(ctx: FormatterContext): string {
    const pieces = this.pieces;
    const templates = this.templates;
    let out = pieces[0]!;
    for (let i = 0; i < templates.length; i++) {
      out += formatJsonValue(templates[i]!, ctx, '-') ?? 'null';
      out += pieces[i + 1]!;
    }
    return out;
  }
}

function flatten(node: JsonNode, pieces: string[], templates: Template[]): void {
  switch (node.kind) {
    case 'constant':
      pieces[pieces.length - 1] += node.json;
      return;
    case 'template':
      templates.push(node.template);
      pieces.push('');
      return;
    case 'object':
      pieces[pieces.length - 1] += '{';
      for (let i = 0; i < node.values.length; i++) {
        pieces[pieces.length - 1] += (i === 0 ? '' : ',') + node.keys[i];
        flatten(node.values[i]!, pieces, templates);
      }
      pieces[pieces.length - 1] += '}';
      return;
    case 'list':
      pieces[pieces.length - 1] += '[';
      for (let i = 0; i < node.values.length; i++) {
        if (i > 0) pieces[pieces.length - 1] += ',';
        flatten(node.values[i]!, pieces, templates);
      }
      pieces[pieces.length - 1] += ']';
      return;
  }
}

/** With omit_empty_values: walks the tree, leaving out keys with missing values. */
class OmitEmptyJsonFormatter implements Formatter {
  private readonly root: Extract<JsonNode, { kind: 'object' }>;

  constructor(root: Extract<JsonNode, { kind: 'object' }>) {
    this.root = root;
  }

  format(ctx: FormatterContext): string {
    return `${serializeObject(this.root, ctx) ?? '{}'}\n`;
  }
}

/** undefined when every key was left out (the parent then leaves the object out too). */
function serializeObject(
  node: Extract<JsonNode, { kind: 'object' }>,
  ctx: FormatterContext,
): string | undefined {
  let out = '';
  for (let i = 0; i < node.values.length; i++) {
    const value = serializeNode(node.values[i]!, ctx);
    if (value === undefined) continue;
    out += (out === '' ? '{' : ',') + node.keys[i] + value;
  }
  return out === '' ? undefined : `${out}}`;
}

function serializeNode(node: JsonNode, ctx: FormatterContext): string | undefined {
  switch (node.kind) {
    case 'constant':
      return node.json;
    case 'template':
      return formatJsonValue(node.template, ctx, '');
    case 'object':
      return serializeObject(node, ctx);
    case 'list': {
      // A list is kept even when every element was left out.
      let out = '';
      for (const element of node.values) {
        const value = serializeNode(element, ctx);
        if (value !== undefined) out += (out === '' ? '' : ',') + value;
      }
      return `[${out}]`;
    }
  }
}

/**
 * Compiles a `json_format` (a google.protobuf.Struct as plain JSON: string values are
 * format strings; numbers, booleans, nulls, lists and nested objects are allowed).
 */
export function compileJsonFormat(
  format: Readonly<Record<string, unknown>>,
  options: FormatterOptions = {},
): CompileResult {
  const root = buildObject(format, [], options);
  if (root instanceof JsonBuildError) {
    return { ok: false, error: root.error, unsupported: root.unsupported, path: root.path };
  }
  if (root.kind !== 'object') throw new Error('bug: a JSON format root is an object');
  if (options.omitEmptyValues) return { ok: true, formatter: new OmitEmptyJsonFormatter(root) };
  const pieces = [''];
  const templates: Template[] = [];
  flatten(root, pieces, templates);
  pieces[pieces.length - 1] += '\n';
  return { ok: true, formatter: new FlatJsonFormatter(pieces, templates) };
}
