import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { DeadlineQueue } from '../../../src/pipeline/deadline-queue.js';

class Item {
  expiredAt: number | undefined;
  constructor(readonly name: string) {}
  expire(): void {
    this.expiredAt = performance.now();
  }
}

describe('one timer for many equal deadlines', () => {
  test('items expire in order, not before their deadline; a deleted one never does', async () => {
    const q = new DeadlineQueue<Item>(60);
    const a = new Item('a');
    const b = new Item('b');
    const c = new Item('c');
    const addedA = performance.now();
    q.add(a);
    await sleep(30);
    const addedB = performance.now();
    q.add(b);
    q.add(c);
    q.delete(c);
    await sleep(150);
    assert.ok(a.expiredAt! - addedA >= 59, `a after ${a.expiredAt! - addedA} ms`);
    assert.ok(b.expiredAt! - addedB >= 59, `b after ${b.expiredAt! - addedB} ms`);
    assert.ok(b.expiredAt! > a.expiredAt!);
    assert.equal(c.expiredAt, undefined);
    assert.equal(q.size, 0);
  });

  test('an item added while the queue expires others gets its own full delay', async () => {
    const q = new DeadlineQueue<{ expire(): void; at?: number }>(40);
    const late = { at: undefined as number | undefined, expire() { this.at = performance.now(); } };
    let addedLate = 0;
    q.add({ expire: () => { addedLate = performance.now(); q.add(late); } });
    await sleep(150);
    assert.ok(late.at! - addedLate >= 39, `late after ${late.at! - addedLate} ms`);
  });
});
