/**
 * Path normalization as Envoy's connection manager does it: RFC 3986 dot-segment removal with
 * Chromium's URL path canonicalizer rules (`normalize_path`), merging of repeated slashes
 * (`merge_slashes`), and unescaping of `%2F` / `%5C` (`path_with_escaped_slashes_action`).
 *
 * Any thread; pure functions over the `:path` value (Latin-1, one char per byte). Only the path
 * part is touched, the query is kept as is. Envoy counterpart: `PathUtil::canonicalPath`,
 * `PathUtil::mergeSlashes`, `PathUtil::unescapeSlashes` (source/common/http/path_utility.cc),
 * Chromium's `url::CanonicalizePath` (url_canon_path.cc).
 */

/** Bytes kept escaped or escaped when raw: controls, space, `"`, `#`, `<`, `>`, `` ` ``, DEL and non-ASCII. */
function mustEscape(c: number): boolean {
  return c <= 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e || c === 0x60 || c >= 0x7f;
}

/** RFC 3986 unreserved except `.`: an escape of one of these is decoded. */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d /* - */ ||
    c === 0x5f /* _ */ ||
    c === 0x7e /* ~ */
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

const HEX = '0123456789ABCDEF';

/** True when `segment` (as received) is `.` or `..`, a dot possibly written `%2e`. Returns the dot count, or 0. */
function dotSegment(segment: string): number {
  let dots = 0;
  let i = 0;
  while (i < segment.length) {
    if (segment.charCodeAt(i) === 0x2e) {
      i++;
    } else if (
      segment.charCodeAt(i) === 0x25 &&
      segment.charCodeAt(i + 1) === 0x32 &&
      (segment.charCodeAt(i + 2) | 0x20) === 0x65
    ) {
      i += 3;
    } else {
      return 0;
    }
    if (++dots > 2) return 0;
  }
  return dots;
}

/**
 * One segment's characters, canonicalized: escapes of unreserved characters decoded, other
 * valid escapes kept as written, characters that must be escaped escaped. Null when the
 * segment holds NUL (raw or `%00`): Chromium's canonicalizer fails on it.
 */
function canonicalSegment(segment: string): string | null {
  let clean = true;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0x25 || c === 0 || mustEscape(c)) {
      clean = false;
      break;
    }
  }
  if (clean) return segment;
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c === 0) return null;
    if (c === 0x25 /* % */) {
      const hi = hexValue(segment.charCodeAt(i + 1));
      const lo = hexValue(segment.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) {
        out += '%'; // not an escape: kept, as Chromium's permissive mode does
        continue;
      }
      const value = hi * 16 + lo;
      if (value === 0) return null;
      out += isUnreserved(value) ? String.fromCharCode(value) : segment.slice(i, i + 3);
      i += 2;
      continue;
    }
    out += mustEscape(c) ? `%${HEX[c >> 4]}${HEX[c & 15]}` : segment[i];
  }
  return out;
}

/**
 * The canonical form of a path without its query (Envoy's `canonicalizePath`): a leading `/`,
 * `\` read as `/`, `.` and `..` segments (also as `%2e`) resolved, escapes canonicalized. Null
 * when the path cannot be canonicalized (the request gets a 400).
 */
export function canonicalizePath(path: string): string | null {
  const segments = path.split(/[/\\]/);
  // A path that starts with a slash has an empty first piece; one that does not gets a slash.
  if (segments.length > 1 && segments[0] === '') segments.shift();
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const raw = segments[i]!;
    const dots = dotSegment(raw);
    if (dots === 1 || dots === 2) {
      if (dots === 2 && out.length > 0) out.pop();
      if (i === last) out.push(''); // "/a/b/.." is "/a/"
      continue;
    }
    const segment = canonicalSegment(raw);
    if (segment === null) return null;
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** Splits `:path` into the path and the query (with its `?`). */
function splitQuery(value: string): [string, string] {
  const q = value.indexOf('?');
  return q < 0 ? [value, ''] : [value.slice(0, q), value.slice(q)];
}

/** `:path` canonicalized (query kept), or null when it cannot be. Envoy's `PathUtil::canonicalPath`. */
export function canonicalPath(value: string): string | null {
  const [path, query] = splitQuery(value);
  const canonical = canonicalizePath(path);
  return canonical === null ? null : canonical + query;
}

/** `:path` with runs of slashes in the path part merged into one. Envoy's `PathUtil::mergeSlashes`. */
export function mergeSlashes(value: string): string {
  const [path, query] = splitQuery(value);
  if (!path.includes('//')) return value;
  const prefix = path.startsWith('/') ? '/' : '';
  const suffix = path.endsWith('/') ? '/' : '';
  const inner = path
    .split('/')
    .filter((s) => s !== '')
    .join('/');
  return prefix + inner + suffix + query;
}

/**
 * `:path` with `%2F`/`%2f` turned into `/` and `%5C`/`%5c` into `\` in the path part, or null
 * when there is none. Envoy's `PathUtil::unescapeSlashes`.
 */
export function unescapeSlashes(value: string): string | null {
  const [path, query] = splitQuery(value);
  if (!path.includes('%')) return null;
  const decoded = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  return decoded.length === path.length ? null : decoded + query;
}
