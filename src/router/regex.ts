/**
 * Envoy's `safe_regex`: RE2 patterns, matched in time linear in the input, never with a
 * backtracking engine. Full matches for route, header and query matchers; RE2's global
 * replace with `\1`-style substitutions for `regex_rewrite`, `host_rewrite_path_regex` and
 * hash policy header rewrites.
 *
 * Any thread: compiled once when a route table is built (on main to validate, on each worker
 * to run), then used per request on the worker that owns it. The engine is `re2js`, a pure
 * JavaScript port of RE2 (Go's regexp): RE2 syntax, no backreferences or lookarounds, linear
 * time. Envoy counterpart: `Regex::CompiledGoogleReMatcher` (source/common/common/regex.cc)
 * and `RE2::GlobalReplace`. Envoy's `re2.max_program_size` limits are not applied: re2js
 * measures program size differently from C++ RE2, so its numbers would reject the wrong
 * patterns.
 */
import { RE2JS } from 're2js';

/** A compiled RE2 pattern. */
export class Re2Regex {
  readonly pattern: string;
  private readonly re: RE2JS;

  private constructor(pattern: string, re: RE2JS) {
    this.pattern = pattern;
    this.re = re;
  }

  /** The compiled pattern, or RE2's parse error as a message. */
  static compile(pattern: string): Re2Regex | string {
    try {
      return new Re2Regex(pattern, RE2JS.compile(pattern));
    } catch (e) {
      return `invalid RE2 regex '${pattern}': ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** Number of capturing groups. */
  get groupCount(): number {
    return this.re.groupCount();
  }

  /** Whether the whole of `input` matches (RE2::FullMatch). */
  fullMatch(input: string): boolean {
    return this.re.testExact(input);
  }

  /**
   * Every non-overlapping match replaced with `substitution` expanded (RE2::GlobalReplace):
   * an empty match right after the previous match is skipped, as RE2 does.
   */
  replaceAll(input: string, substitution: Re2Substitution): string {
    const m = this.re.matcher(input);
    let out = '';
    let p = 0;
    let lastEnd = -1;
    while (p <= input.length) {
      if (!m.find(p)) break;
      const start = m.start();
      const end = m.end();
      if (p < start) out += input.slice(p, start);
      if (start === lastEnd && start === end) {
        // An empty match where the last one ended: copy one character and move on.
        if (p >= input.length) break;
        const c = input.charCodeAt(p);
        const width = c >= 0xd800 && c <= 0xdbff && p + 1 < input.length ? 2 : 1;
        out += input.slice(p, p + width);
        p += width;
        continue;
      }
      out += substitution.expand(m);
      p = end;
      lastEnd = end;
    }
    if (p < input.length) out += input.slice(p);
    return out;
  }
}

/** What a substitution needs of one match: its groups. */
interface MatchGroups {
  group(index: number): string | null;
}

/**
 * An RE2 rewrite string, parsed once: literal text with `\0`..`\9` naming the whole match
 * and the capture groups, and `\\` a backslash (RE2::Rewrite).
 */
export class Re2Substitution {
  readonly text: string;
  /** Literal pieces and group numbers, interleaved: `literals.length === groups.length + 1`. */
  private readonly literals: readonly string[];
  private readonly groups: readonly number[];

  private constructor(text: string, literals: string[], groups: number[]) {
    this.text = text;
    this.literals = literals;
    this.groups = groups;
  }

  /**
   * Parses `text` for a pattern with `groupCount` groups; a message when RE2 would refuse it
   * (RE2::CheckRewriteString): a backslash followed by anything but a digit or a backslash,
   * or a group the pattern does not have.
   */
  static parse(text: string, groupCount: number): Re2Substitution | string {
    const literals: string[] = [];
    const groups: number[] = [];
    let literal = '';
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\\') {
        literal += c;
        continue;
      }
      const next = text[i + 1];
      i++;
      if (next === '\\') {
        literal += '\\';
        continue;
      }
      if (next === undefined || next < '0' || next > '9') {
        return `invalid rewrite pattern '${text}': a backslash must be followed by a digit or a backslash`;
      }
      const n = next.charCodeAt(0) - 0x30;
      if (n > groupCount) {
        return `rewrite '${text}' requests ${n} matches, but the regex only has ${groupCount} parenthesized subexpressions`;
      }
      literals.push(literal);
      groups.push(n);
      literal = '';
    }
    literals.push(literal);
    return new Re2Substitution(text, literals, groups);
  }

  expand(m: MatchGroups): string {
    const literals = this.literals;
    const groups = this.groups;
    let out = literals[0]!;
    for (let i = 0; i < groups.length; i++) {
      out += m.group(groups[i]!) ?? '';
      out += literals[i + 1]!;
    }
    return out;
  }
}
