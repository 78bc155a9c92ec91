import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { MutableFields } from '../../src/common/mutable-fields.ts';

describe('MutableFields', () => {
  it('leaves every field with the value it had', () => {
    const fields = new MutableFields({ closed: true, reason: 'ECONNRESET', detail: 'x' });
    class Flags {
      closed = false;
      reason = '';
      detail: string | null = null;
      constructor() {
        fields.mark(this);
      }
    }
    const f = new Flags();
    assert.deepEqual({ ...f }, { closed: false, reason: '', detail: null });
    f.closed = true;
    assert.equal(f.closed, true);
    assert.equal(new Flags().closed, false);
  });

  it('keeps a marked field from costing optimized code its constness when it first changes', () => {
    // V8's own trace says when a field goes from constant to mutable; a marked field does so
    // in the constructor, before anything runs optimized, and never at the first real change.
    const script = `
      const { MutableFields } = await import(${JSON.stringify(new URL('../../src/common/mutable-fields.ts', import.meta.url).href)});
      const fields = new MutableFields({ closedMarked: true });
      class Marked { closedMarked = false; constructor() { fields.mark(this); } }
      class MarkedToo extends Marked {}
      class Plain { closedPlain = false; }
      const a = new Marked(); const b = new Plain(); const c = new MarkedToo();
      console.log('--- first change');
      a.closedMarked = true; b.closedPlain = true; c.closedMarked = true;
    `;
    const child = spawnSync(
      process.execPath,
      ['--trace-generalization', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(child.status, 0, child.stderr);
    const afterChange = child.stdout.slice(child.stdout.indexOf('--- first change'));
    assert.match(afterChange, /closedPlain:.*const\}->.*mutable\}/);
    assert.doesNotMatch(afterChange, /closedMarked:/);
    const beforeChange = child.stdout.slice(0, child.stdout.indexOf('--- first change'));
    assert.match(beforeChange, /closedMarked:.*const\}->.*mutable\}/);
  });
});
