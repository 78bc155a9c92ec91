/**
 * The request corpus (`corpus/requests.ts` with `corpus/smuggling.ts`) through Legate's HTTP/1
 * codecs: every valid request reaches the upstream byte for byte and gets its response; every
 * invalid one gets Envoy's local reply with the expected status and details, the connection is closed, and nothing
 * reaches the upstream. Each entry is also fed one byte at a time, which must give the same
 * verdict and decode the same requests (the parser is incremental at every byte).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runThroughCodec } from './corpus/harness.ts';
import { REQUEST_CORPUS } from './corpus/requests.ts';

describe('HTTP/1 request corpus', () => {
  test('the corpus (conformance and smuggling) has at least 350 entries with distinct names', () => {
    assert.ok(REQUEST_CORPUS.length >= 350, `only ${REQUEST_CORPUS.length} entries`);
    assert.equal(new Set(REQUEST_CORPUS.map((e) => e.name)).size, REQUEST_CORPUS.length);
  });

  for (const entry of REQUEST_CORPUS) {
    const kind =
      entry.rejected === undefined ? 'forwarded byte for byte' : `rejected with ${entry.rejected.status}`;
    test(`${entry.name}: ${kind}`, () => {
      const outcome = runThroughCodec(entry.raw, entry.settings);
      assert.equal(
        JSON.stringify(outcome.forwarded),
        JSON.stringify(entry.forwarded),
        'bytes that reached the upstream',
      );
      const forwardedRequests = outcome.statuses.filter((s) => s === 200).length;
      if (entry.rejected === undefined) {
        assert.ok(
          outcome.statuses.every((s) => s === 200),
          `statuses ${outcome.statuses}`,
        );
        assert.deepEqual(outcome.details, []);
      } else {
        const last = outcome.statuses.at(-1);
        assert.equal(last, entry.rejected.status, `downstream got ${JSON.stringify(outcome.downstream)}`);
        assert.ok(outcome.details.includes(entry.rejected.details), `details ${outcome.details}`);
        assert.ok(outcome.closed, 'the connection is closed after a codec error');
        assert.match(outcome.downstream, /connection: close\r\n\r\n[A-Z][A-Za-z ]+$/);
        assert.equal(forwardedRequests, outcome.statuses.length - 1);
      }
    });
  }

  test('one byte at a time gives the same verdict and the same decoded requests', () => {
    for (const entry of REQUEST_CORPUS) {
      const whole = runThroughCodec(entry.raw, entry.settings);
      const bytewise = runThroughCodec(entry.raw, entry.settings, 1);
      assert.deepEqual(bytewise.statuses, whole.statuses, entry.name);
      if (entry.rejected === undefined) assert.deepEqual(bytewise.requests, whole.requests, entry.name);
      else assert.ok(bytewise.details.includes(entry.rejected.details), `${entry.name}: ${bytewise.details}`);
    }
  });
});
