/**
 * The pure parts under the DNS clusters: `dns_lookup_family` (which queries, in which
 * order, what counts as success), literals and localhost without a query, the DNS wire
 * codec of the TCP resolver (checked against dns2's encoder), and the failure back-off.
 * Envoy counterpart: test/extensions/network/dns_resolver/cares/dns_impl_test.cc and
 * test/common/common/backoff_strategy_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dns2 from 'dns2';
import { FixedBackOff, JitteredExponentialBackOff } from '../../../src/common/backoff.ts';
import { lookup } from '../../../src/upstream/discovery/dns-lookup.ts';
import {
  DnsQueryError,
  decodeResponse,
  encodeQuery,
  formatIpv6,
} from '../../../src/upstream/discovery/dns-message.ts';
import { ScriptedResolver } from './helpers.ts';

const { Packet } = dns2;

describe('dns_lookup_family', () => {
  test('V4_ONLY and V6_ONLY send one query of their family', async () => {
    const r = new ScriptedResolver();
    r.answer('svc', 4, ['10.0.0.1']);
    r.answer('svc', 6, ['2001:db8::1']);
    assert.deepEqual(await lookup(r, 'svc', 'V4_ONLY'), {
      ok: true,
      addresses: ['10.0.0.1'],
      ttlS: 60,
      firstTtlS: 60,
    });
    assert.deepEqual(await lookup(r, 'svc', 'V6_ONLY'), {
      ok: true,
      addresses: ['2001:db8::1'],
      ttlS: 60,
      firstTtlS: 60,
    });
    assert.deepEqual(
      r.calls.map((c) => c.family),
      [4, 6],
    );
  });

  test('V4_PREFERRED uses A records when there are some and does not ask for AAAA', async () => {
    const r = new ScriptedResolver();
    r.answer('svc', 4, ['10.0.0.1']);
    r.answer('svc', 6, ['2001:db8::1']);
    const result = await lookup(r, 'svc', 'V4_PREFERRED');
    assert.ok(result.ok);
    assert.deepEqual(result.addresses, ['10.0.0.1']);
    assert.deepEqual(
      r.calls.map((c) => c.family),
      [4],
    );
  });

  test('V4_PREFERRED falls back to AAAA when the name has no A record, or when the A query fails', async () => {
    const r = new ScriptedResolver();
    r.answer('v6only', 6, ['2001:db8::2'], 30);
    const noA = await lookup(r, 'v6only', 'V4_PREFERRED');
    assert.deepEqual(noA, { ok: true, addresses: ['2001:db8::2'], ttlS: 30, firstTtlS: 30 });

    r.fail('flaky', 4);
    r.answer('flaky', 6, ['2001:db8::3']);
    const failedA = await lookup(r, 'flaky', 'V4_PREFERRED');
    assert.ok(failedA.ok);
    assert.deepEqual(failedA.addresses, ['2001:db8::3']);
  });

  test('AUTO asks for AAAA first and falls back to A', async () => {
    const r = new ScriptedResolver();
    r.answer('svc', 4, ['10.0.0.1']);
    const result = await lookup(r, 'svc', 'AUTO');
    assert.ok(result.ok);
    assert.deepEqual(result.addresses, ['10.0.0.1']);
    assert.deepEqual(
      r.calls.map((c) => c.family),
      [6, 4],
    );
  });

  test('ALL returns both families, A first, and succeeds when only one query is answered', async () => {
    const r = new ScriptedResolver();
    r.answer('svc', 4, ['10.0.0.1', '10.0.0.2'], 20);
    r.answer('svc', 6, ['2001:db8::1'], 5);
    assert.deepEqual(await lookup(r, 'svc', 'ALL'), {
      ok: true,
      addresses: ['10.0.0.1', '10.0.0.2', '2001:db8::1'],
      ttlS: 5,
      firstTtlS: 20,
    });
    r.fail('half', 6);
    r.answer('half', 4, ['10.0.0.9']);
    const half = await lookup(r, 'half', 'ALL');
    assert.ok(half.ok);
    assert.deepEqual(half.addresses, ['10.0.0.9']);
  });

  test('a name with no records is a successful resolution with no addresses; only failed queries fail it', async () => {
    const r = new ScriptedResolver();
    assert.deepEqual(await lookup(r, 'nothing', 'V4_PREFERRED'), {
      ok: true,
      addresses: [],
      ttlS: 0,
      firstTtlS: 0,
    });
    r.fail('down', 4, 'ETIMEOUT');
    r.fail('down', 6, 'ESERVFAIL');
    const down = await lookup(r, 'down', 'V4_PREFERRED');
    assert.equal(down.ok, false);
    assert.ok(!down.ok && /ETIMEOUT/.test(down.reason) && /ESERVFAIL/.test(down.reason));
  });

  test('IP literals and localhost are answered without a query, with TTL 0', async () => {
    const r = new ScriptedResolver();
    assert.deepEqual(await lookup(r, '10.1.2.3', 'AUTO'), {
      ok: true,
      addresses: ['10.1.2.3'],
      ttlS: 0,
      firstTtlS: 0,
    });
    assert.deepEqual(await lookup(r, '10.1.2.3', 'V6_ONLY'), {
      ok: true,
      addresses: [],
      ttlS: 0,
      firstTtlS: 0,
    });
    const v6 = await lookup(r, '::1', 'V4_PREFERRED');
    assert.ok(v6.ok);
    assert.deepEqual(v6.addresses, ['::1']);
    const loopbacks = async (
      family: 'V4_ONLY' | 'V4_PREFERRED' | 'AUTO' | 'ALL',
    ): Promise<readonly string[]> => {
      const result = await lookup(r, 'localhost', family);
      assert.ok(result.ok);
      return result.addresses;
    };
    assert.deepEqual(await loopbacks('V4_ONLY'), ['127.0.0.1']);
    assert.deepEqual(await loopbacks('V4_PREFERRED'), ['127.0.0.1']);
    assert.deepEqual(await loopbacks('AUTO'), ['::1']);
    assert.deepEqual(await loopbacks('ALL'), ['127.0.0.1', '::1']);
    assert.deepEqual(r.calls, [], 'no query was sent');
  });
});

describe('DNS wire codec of the TCP resolver', () => {
  test('a query encodes the name, the type and recursion desired, and dns2 reads it back', () => {
    const wire = encodeQuery(0x1234, 'api.example.test.', 28);
    const parsed = Packet.parse(wire);
    assert.equal(parsed.header.id, 0x1234);
    assert.equal(parsed.header.rd, 1);
    assert.deepEqual(
      parsed.questions.map((q) => [q.name, q.type, q.class]),
      [['api.example.test', 28, 1]],
    );
  });

  test('a malformed name is refused before anything is sent', () => {
    assert.throws(
      () => encodeQuery(1, 'a..b', 1),
      (e: unknown) => e instanceof DnsQueryError && e.code === 'EBADNAME',
    );
    assert.throws(
      () => encodeQuery(1, `${'x'.repeat(64)}.test`, 1),
      (e: unknown) => e instanceof DnsQueryError && e.code === 'EBADNAME',
    );
  });

  test('the answer records of the asked type are decoded past a CNAME, with the lowest TTL', () => {
    const request = Packet.parse(encodeQuery(7, 'www.test', 1));
    const response = Packet.createResponseFromRequest(request);
    response.answers.push(
      Packet.createResourceFromQuestion(request.questions[0]!, {
        type: Packet.TYPE.CNAME,
        ttl: 300,
        domain: 'edge.test',
      }),
      Packet.createResourceFromQuestion(request.questions[0]!, {
        name: 'edge.test',
        ttl: 40,
        address: '192.0.2.1',
      }),
      Packet.createResourceFromQuestion(request.questions[0]!, {
        name: 'edge.test',
        ttl: 25,
        address: '192.0.2.2',
      }),
    );
    assert.deepEqual(decodeResponse(response.toBuffer(), 7, 1), {
      addresses: ['192.0.2.1', '192.0.2.2'],
      ttlS: 25,
    });
  });

  test('NXDOMAIN and NODATA are answers without records; SERVFAIL and a wrong ID are errors', () => {
    const request = Packet.parse(encodeQuery(9, 'gone.test', 28));
    const nx = Packet.createResponseFromRequest(request);
    nx.header.rcode = Packet.RCODE.NXDOMAIN;
    assert.deepEqual(decodeResponse(nx.toBuffer(), 9, 28), { addresses: [], ttlS: 0 });
    const nodata = Packet.createResponseFromRequest(request);
    assert.deepEqual(decodeResponse(nodata.toBuffer(), 9, 28), { addresses: [], ttlS: 0 });
    const servfail = Packet.createResponseFromRequest(request);
    servfail.header.rcode = Packet.RCODE.SERVFAIL;
    assert.throws(
      () => decodeResponse(servfail.toBuffer(), 9, 28),
      (e: unknown) => e instanceof DnsQueryError && e.code === 'ESERVFAIL',
    );
    assert.throws(
      () => decodeResponse(nodata.toBuffer(), 10, 28),
      (e: unknown) => e instanceof DnsQueryError && e.code === 'EBADRESP',
    );
  });

  test('IPv6 addresses are written as RFC 5952 says', () => {
    const bytes = (groups: number[]): Uint8Array => {
      const out = new Uint8Array(16);
      groups.forEach((g, i) => {
        out[2 * i] = g >> 8;
        out[2 * i + 1] = g & 0xff;
      });
      return out;
    };
    assert.equal(formatIpv6(bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])), '2001:db8::1');
    assert.equal(formatIpv6(bytes([0, 0, 0, 0, 0, 0, 0, 1])), '::1');
    assert.equal(formatIpv6(bytes([0, 0, 0, 0, 0, 0, 0, 0])), '::');
    assert.equal(formatIpv6(bytes([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1])), '2001:db8:0:1::1');
    assert.equal(formatIpv6(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])), '2001:db8::1:0:0:1');
    assert.equal(formatIpv6(bytes([0xfe80, 0, 0, 0, 0xabc, 0, 0, 0])), 'fe80::abc:0:0:0');
  });
});

describe('failure back-off', () => {
  test('jittered exponential back-off draws below a ceiling that doubles up to max_interval, and reset starts over', () => {
    const highest = new JitteredExponentialBackOff(100, 1000, () => 0.999999);
    assert.deepEqual(
      Array.from({ length: 6 }, () => highest.nextBackOffMs()),
      [99, 199, 399, 799, 999, 999],
    );
    highest.reset();
    assert.equal(highest.nextBackOffMs(), 99);
    const lowest = new JitteredExponentialBackOff(100, 1000, () => 0);
    assert.equal(lowest.nextBackOffMs(), 0);
  });

  test('fixed back-off is the refresh rate every time', () => {
    const fixed = new FixedBackOff(5000);
    assert.deepEqual([fixed.nextBackOffMs(), fixed.nextBackOffMs()], [5000, 5000]);
  });
});
