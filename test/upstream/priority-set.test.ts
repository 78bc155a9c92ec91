/**
 * PrioritySetImpl: host identity across updates (same `address:port`), IPv6 keys, per-level
 * host lists by health, the update callbacks' added / removed hosts, moves between priorities,
 * and levels that are never dropped. Envoy counterpart: test/common/upstream/upstream_impl_test.cc.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coarseHealth, hostKey, PrioritySetImpl } from '../../src/upstream/priority-set.ts';
import type { Host } from '../../src/upstream/types.ts';
import { hostData } from './load-balancer/helpers.ts';

interface Change {
  readonly priority: number;
  readonly added: string[];
  readonly removed: string[];
}

function recording(set: PrioritySetImpl): Change[] {
  const changes: Change[] = [];
  const keys = (hosts: readonly Host[]) => hosts.map((h) => h.key);
  set.addUpdateCallback((priority, added, removed) =>
    changes.push({ priority, added: keys(added), removed: keys(removed) }),
  );
  return changes;
}

describe('PrioritySetImpl', () => {
  test('keys are address:port, IPv6 in brackets', () => {
    assert.equal(hostKey('10.0.0.1', 80), '10.0.0.1:80');
    assert.equal(hostKey('::1', 8080), '[::1]:8080');
    const set = new PrioritySetImpl([hostData('2001:db8::1', { port: 443 })]);
    assert.equal(set.hostSets[0]!.hosts[0]!.key, '[2001:db8::1]:443');
  });

  test('an empty set still has priority 0', () => {
    const set = new PrioritySetImpl();
    assert.equal(set.hostSets.length, 1);
    assert.equal(set.hostSets[0]!.priority, 0);
    assert.deepEqual(set.hostSets[0]!.hosts, []);
  });

  test('UNKNOWN and HEALTHY are healthy, DEGRADED is degraded, the rest neither', () => {
    assert.equal(coarseHealth('UNKNOWN'), 'HEALTHY');
    assert.equal(coarseHealth('HEALTHY'), 'HEALTHY');
    assert.equal(coarseHealth('DEGRADED'), 'DEGRADED');
    for (const s of ['UNHEALTHY', 'DRAINING', 'TIMEOUT'] as const) assert.equal(coarseHealth(s), 'UNHEALTHY');
    const set = new PrioritySetImpl([
      hostData('10.0.0.1', { health: 'UNKNOWN' }),
      hostData('10.0.0.2', { health: 'DEGRADED' }),
      hostData('10.0.0.3', { health: 'DRAINING' }),
    ]);
    const p0 = set.hostSets[0]!;
    assert.deepEqual(
      p0.healthyHosts.map((h) => h.address),
      ['10.0.0.1'],
    );
    assert.deepEqual(
      p0.degradedHosts.map((h) => h.address),
      ['10.0.0.2'],
    );
    assert.equal(p0.hosts.length, 3);
  });

  test('a host keeps its identity and in-flight counts across updates; callbacks name the added and removed', () => {
    const set = new PrioritySetImpl([hostData('10.0.0.1'), hostData('10.0.0.2')]);
    const changes = recording(set);
    const kept = set.host('10.0.0.2:80')!;
    kept.activeRequests = 3;
    set.update([hostData('10.0.0.2'), hostData('10.0.0.3')]);
    assert.equal(set.host('10.0.0.2:80'), kept);
    assert.equal(kept.activeRequests, 3);
    assert.equal(set.host('10.0.0.1:80'), undefined);
    assert.deepEqual(changes, [{ priority: 0, added: ['10.0.0.3:80'], removed: ['10.0.0.1:80'] }]);
  });

  test('the same hosts again run no callback; a health or weight change runs one with nothing added', () => {
    const hosts = [hostData('10.0.0.1'), hostData('10.0.0.2')];
    const set = new PrioritySetImpl(hosts);
    const changes = recording(set);
    set.update(hosts);
    assert.deepEqual(changes, []);
    set.update([hostData('10.0.0.1', { health: 'UNHEALTHY' }), hostData('10.0.0.2', { weight: 5 })]);
    assert.deepEqual(changes, [{ priority: 0, added: [], removed: [] }]);
    assert.deepEqual(
      set.hostSets[0]!.healthyHosts.map((h) => h.address),
      ['10.0.0.2'],
    );
    assert.equal(set.host('10.0.0.2:80')!.weight, 5);
  });

  test('a host moving to another priority is removed from one level and added to the other, same object', () => {
    const set = new PrioritySetImpl([hostData('10.0.0.1'), hostData('10.0.0.2')]);
    const changes = recording(set);
    const moving = set.host('10.0.0.2:80');
    set.update([hostData('10.0.0.1'), hostData('10.0.0.2', { priority: 1 })]);
    assert.deepEqual(changes, [
      { priority: 0, added: [], removed: ['10.0.0.2:80'] },
      { priority: 1, added: ['10.0.0.2:80'], removed: [] },
    ]);
    assert.equal(set.hostSets[1]!.hosts[0], moving);
    assert.equal(moving!.priority, 1);
  });

  test('levels are never dropped: a level that empties stays, empty', () => {
    const set = new PrioritySetImpl([hostData('10.0.0.1'), hostData('10.0.2.1', { priority: 2 })]);
    assert.equal(set.hostSets.length, 3);
    assert.deepEqual(set.hostSets[1]!.hosts, []);
    set.update([hostData('10.0.0.1')]);
    assert.equal(set.hostSets.length, 3);
    assert.deepEqual(set.hostSets[2]!.hosts, []);
  });

  test('the first of duplicate keys wins', () => {
    const set = new PrioritySetImpl([
      hostData('10.0.0.1', { weight: 2 }),
      hostData('10.0.0.1', { weight: 9 }),
    ]);
    assert.equal(set.hostSets[0]!.hosts.length, 1);
    assert.equal(set.hostSets[0]!.hosts[0]!.weight, 2);
  });

  test('the overprovisioning factor reaches every level, and a new one counts as a change', () => {
    const set = new PrioritySetImpl([hostData('10.0.0.1'), hostData('10.0.1.1', { priority: 1 })], 200);
    assert.deepEqual(
      set.hostSets.map((s) => s.overprovisioningFactor),
      [200, 200],
    );
    const changes = recording(set);
    set.update([hostData('10.0.0.1'), hostData('10.0.1.1', { priority: 1 })], 140);
    assert.deepEqual(
      changes.map((c) => c.priority),
      [0, 1],
    );
    assert.equal(set.hostSets[1]!.overprovisioningFactor, 140);
  });
});
