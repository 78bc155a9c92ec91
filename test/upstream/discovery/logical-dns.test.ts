/**
 * LOGICAL_DNS discovery against a real DNS server (dns2 on 127.0.0.1) on the real event
 * loop with short refresh rates: one host at the first address of the latest answer, moved
 * when that address changes, kept through failures and empty answers. Waits are bounded
 * polls, never timing asserts. Envoy counterpart:
 * test/extensions/clusters/logical_dns/logical_dns_cluster_test.cc.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DispatcherImpl, realBackend } from '../../../src/event/dispatcher.ts';
import { caresConfig, eventually, startDiscovery, TestDnsServer } from './helpers.ts';

let server: TestDnsServer;
let dispatcher: DispatcherImpl;

before(async () => {
  server = await TestDnsServer.start();
  dispatcher = new DispatcherImpl('main_thread', realBackend());
});

after(async () => {
  dispatcher.exit();
  await server.close();
});

function logicalCluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'logical',
    connect_timeout: '1s',
    type: 'LOGICAL_DNS',
    dns_lookup_family: 'V4_ONLY',
    dns_refresh_rate: '0.1s',
    dns_failure_refresh_rate: { base_interval: '0.05s', max_interval: '0.1s' },
    typed_dns_resolver_config: caresConfig(server.port),
    load_assignment: {
      cluster_name: 'logical',
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: name, port_value: 443 } } } }] },
      ],
    },
    ...extra,
  };
}

describe('LOGICAL_DNS against a real DNS server', () => {
  test('the one host is the first address of the answer, with the endpoint port and the name as hostname', async (t) => {
    server.answer('web.test', { a: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] });
    const s = await startDiscovery(t, dispatcher, logicalCluster('web.test'));
    assert.deepEqual(
      s.discovery.hosts().map((h) => [h.address, h.port, h.hostname]),
      [['10.1.0.1', 443, 'web.test']],
    );
  });

  test('a changed first address moves the host; the same first address changes nothing', async (t) => {
    server.answer('rr.test', { a: ['10.1.1.1', '10.1.1.2'] });
    const s = await startDiscovery(t, dispatcher, logicalCluster('rr.test'));
    server.answer('rr.test', { a: ['10.1.1.1', '10.1.1.9'] });
    const before = server.count('rr.test');
    await eventually(() => server.count('rr.test') >= before + 2, 'two more resolutions');
    assert.equal(s.changes.length, 0, 'no change reported');
    server.answer('rr.test', { a: ['10.1.1.2', '10.1.1.1'] });
    await eventually(() => s.addresses()[0] === '10.1.1.2', 'the host moves to the new first address');
    assert.deepEqual(
      s.changes.map((hosts) => hosts.map((h) => h.address)),
      [['10.1.1.2']],
    );
  });

  test('a failed lookup and an empty answer both keep the host', async (t) => {
    server.answer('keep.test', { a: ['10.1.2.1'] });
    const s = await startDiscovery(t, dispatcher, logicalCluster('keep.test'));
    let before = server.count('keep.test');
    server.fail('keep.test', 'SERVFAIL');
    await eventually(() => server.count('keep.test') >= before + 3, 'three failed lookups');
    before = server.count('keep.test');
    server.fail('keep.test', 'NXDOMAIN');
    await eventually(() => server.count('keep.test') >= before + 3, 'three empty answers');
    assert.deepEqual(s.addresses(), ['10.1.2.1']);
    assert.equal(s.changes.length, 0, 'no change reported');
  });

  test('the first lookup failing completes initialize with no host, and the first answer adds it', async (t) => {
    server.silence('late.test');
    const s = await startDiscovery(t, dispatcher, logicalCluster('late.test'));
    assert.deepEqual(s.discovery.hosts(), []);
    server.answer('late.test', { a: ['10.1.3.1'] });
    await eventually(() => s.addresses()[0] === '10.1.3.1', 'the host appears');
  });
});
