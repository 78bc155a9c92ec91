/**
 * Path normalization: Envoy's own PathUtil test cases for canonicalization (RFC 3986 dot
 * segments with Chromium's escape rules), slash merging and escaped-slash unescaping, then the
 * connection manager applying normalize_path, merge_slashes and path_with_escaped_slashes_action
 * (reject, redirect, forward) and rejecting fragments on real sockets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalPath, mergeSlashes, unescapeSlashes } from '../../../src/http/conn-manager/path-utility.ts';
import { fetchOnce, get, startServer } from './harness.ts';

describe('canonicalPath (Envoy’s PathUtilityTest cases)', () => {
  test('already normal paths do not change', () => {
    for (const p of ['/xyz', '/x/y/z', '/', '/a/', '//a']) assert.equal(canonicalPath(p), p);
  });

  test('paths holding an escaped NUL cannot be canonicalized', () => {
    for (const p of ['/xyz/.%00../abc', '/xyz/%00.%00./abc', '/xyz/AAAAA%%0000/abc']) {
      assert.equal(canonicalPath(p), null, p);
    }
  });

  const CASES: ReadonlyArray<readonly [string, string]> = [
    ['/a/b/../c', '/a/c'],
    ['/a/b/./c', '/a/b/c'],
    ['a/b/../c', '/a/c'],
    ['/a/b/../../../../c', '/c'],
    ['/a/..\\c', '/c'],
    ['/%c0%af', '/%c0%af'],
    ['/%5c%25', '/%5c%25'],
    ['/a/b/%2E%2E/c', '/a/c'],
    ['/a/b/%2E./c', '/a/c'],
    ['/a/b/%2E/c', '/a/b/c'],
    ['..', '/'],
    ['/../a/b', '/a/b'],
    ['/./a/b', '/a/b'],
    ['/A/B/C', '/A/B/C'],
    ['/a/b/%2e%2e/c', '/a/c'],
    ['/a/%2F%2f/c', '/a/%2F%2f/c'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/%41%7e%2D', '/A~-'],
    ['/a b"<>`', '/a%20b%22%3C%3E%60'],
    ['/a/../b?x=/../y', '/b?x=/../y'],
  ];
  for (const [input, output] of CASES) {
    test(`${JSON.stringify(input)} becomes ${JSON.stringify(output)}`, () => {
      assert.equal(canonicalPath(input), output);
    });
  }
});

describe('mergeSlashes and unescapeSlashes', () => {
  test('merge slashes in the path part only (Envoy’s cases)', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['', ''],
      ['a//b/c', 'a/b/c'],
      ['/a//b/c/', '/a/b/c/'],
      ['a//b/c/', 'a/b/c/'],
      ['/a', '/a'],
      ['//a/b/c', '/a/b/c'],
      ['/a//b/c', '/a/b/c'],
      ['/a/b/c//', '/a/b/c/'],
      ['/a///b/c', '/a/b/c'],
      ['/a////b/c', '/a/b/c'],
      ['/a//b?a=///c', '/a/b?a=///c'],
      ['/a//b?', '/a/b?'],
      ['//a/?b', '/a/?b'],
    ];
    for (const [input, output] of cases) assert.equal(mergeSlashes(input), output, input);
  });

  test('%2F and %5C in either case are unescaped in the path, not in the query', () => {
    assert.equal(unescapeSlashes('/a%2Fb%2fc%5Cd%5ce?x=%2F'), '/a/b/c\\d\\e?x=%2F');
    assert.equal(unescapeSlashes('/a%20b'), null);
    assert.equal(unescapeSlashes('/a/b'), null);
  });
});

describe('the connection manager normalizing paths', () => {
  test('normalize_path and merge_slashes rewrite :path before routing', async () => {
    const s = await startServer({ hcm: { normalize_path: true, merge_slashes: true } });
    try {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ['/a/b/../c', '/a/c'],
        ['//a///b', '/a/b'],
        ['/a/%2E%2E/c', '/c'],
        ['/%41?q=//x', '/A?q=//x'],
        ['/a/./b/', '/a/b/'],
      ];
      for (const [sent, seen] of cases) {
        const { echo } = await fetchOnce(s.port, get(sent));
        assert.equal(echo?.path, seen, sent);
      }
      const bad = await fetchOnce(s.port, get('/xyz/.%00../abc'));
      assert.equal(bad.response.status, 400);
      assert.equal(s.counter('downstream_rq_failed_path_normalization'), 1);
    } finally {
      await s.close();
    }
  });

  test('without normalize_path the path is forwarded as received', async () => {
    const s = await startServer();
    try {
      const { echo } = await fetchOnce(s.port, get('/a/../b//c'));
      assert.equal(echo?.path, '/a/../b//c');
    } finally {
      await s.close();
    }
  });

  test('a path with a #fragment is rejected with 400 path_normalization_failed', async () => {
    const s = await startServer();
    try {
      const { response } = await fetchOnce(s.port, get('/a#frag'));
      assert.equal(response.status, 400);
      assert.match(s.logs[0] ?? '', /"GET \/a#frag HTTP\/1.1" 400 /);
    } finally {
      await s.close();
    }
  });

  const ESCAPED: ReadonlyArray<readonly [string, number, string | undefined]> = [
    ['KEEP_UNCHANGED', 200, '/a%2Fb'],
    ['REJECT_REQUEST', 400, undefined],
    ['UNESCAPE_AND_FORWARD', 200, '/a/b'],
    ['UNESCAPE_AND_REDIRECT', 307, undefined],
  ];
  for (const [action, status, path] of ESCAPED) {
    test(`path_with_escaped_slashes_action ${action} answers ${status}`, async () => {
      const s = await startServer({ hcm: { path_with_escaped_slashes_action: action } });
      try {
        const { response, echo } = await fetchOnce(s.port, get('/a%2Fb'));
        assert.equal(response.status, status);
        if (path !== undefined) assert.equal(echo?.path, path);
        if (status === 307) {
          assert.equal(response.header('location'), '/a/b');
          assert.equal(s.counter('downstream_rq_redirected_with_normalized_path'), 1);
        }
      } finally {
        await s.close();
      }
    });
  }
});
