import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFamilies, MetricFamily, renderLabels } from '../../../src/exposition/index.js';
import type { MetricType } from '../../../src/exposition/index.js';

void describe('MetricFamily', () => {
  void test('exposes its definition and counts samples', () => {
    const names = ['vm', 'host'];
    const f = new MetricFamily('ns:metric_name', 'help', 'counter', names);
    assert.equal(f.name, 'ns:metric_name');
    assert.equal(f.help, 'help');
    assert.equal(f.type, 'counter');
    assert.deepEqual(f.labelNames, ['vm', 'host']);
    names.push('late');
    assert.deepEqual(f.labelNames, ['vm', 'host'], 'label names are copied');
    assert.equal(f.size, 0);
    f.add(['a', 'b'], 1);
    f.add(['c', 'd'], 2);
    assert.equal(f.size, 2);
  });

  void test('accepts valid metric names', () => {
    for (const name of ['a', '_', ':', 'a_b:c9', 'A', '__name_ok']) {
      assert.doesNotThrow(() => new MetricFamily(name, '', 'gauge', []));
    }
  });

  void test('rejects invalid metric names', () => {
    for (const name of ['', '9abc', 'a-b', 'a b', 'a.b', 'ü', 'a\n']) {
      assert.throws(() => new MetricFamily(name, '', 'gauge', []), /Invalid metric name/, name);
    }
  });

  void test('rejects invalid label names', () => {
    for (const label of ['', '9a', 'a:b', 'a-b', 'ü', 'a b']) {
      assert.throws(() => new MetricFamily('m', '', 'gauge', [label]), /Invalid label name/, label);
    }
  });

  void test('rejects reserved __ label names', () => {
    assert.throws(() => new MetricFamily('m', '', 'gauge', ['__name__']), /reserved/);
    assert.throws(() => new MetricFamily('m', '', 'gauge', ['ok', '__x']), /reserved/);
    assert.doesNotThrow(() => new MetricFamily('m', '', 'gauge', ['_x']));
  });

  void test('rejects duplicate label names', () => {
    assert.throws(() => new MetricFamily('m', '', 'gauge', ['a', 'b', 'a']), /Duplicate label name "a"/);
  });

  void test('rejects unknown types at runtime', () => {
    assert.throws(() => new MetricFamily('m', '', 'histogram' as MetricType, []), /Invalid type/);
  });

  void test('add throws on label value count mismatch', () => {
    const f = new MetricFamily('m', '', 'gauge', ['a', 'b']);
    assert.throws(() => f.add(['x'], 1), /expects 2 label values/);
    assert.throws(() => f.add(['x', 'y', 'z'], 1), /expects 2 label values/);
    const g = new MetricFamily('n', '', 'gauge', []);
    assert.throws(() => g.add(['x'], 1), /expects 0 label values/);
    assert.equal(f.size + g.size, 0, 'failed adds leave no sample behind');
  });

  void test('add throws on non-string label values or non-number values', () => {
    const f = new MetricFamily('m', '', 'gauge', ['a']);
    assert.throws(() => f.add([undefined as unknown as string], 1), /must be a string/);
    assert.throws(() => f.add(['x'], '1' as unknown as number), /must be a number/);
    assert.equal(f.size, 0);
  });

  void test('pre-renders escaped label blocks', () => {
    const f = new MetricFamily('m', '', 'gauge', ['a', 'b']);
    f.add(['x"y', 'z'], 3);
    const g = new MetricFamily('n', '', 'gauge', []);
    g.add([], 4);
    assert.deepEqual(f.labelBlocks, ['{a="x\\"y",b="z"}']);
    assert.deepEqual(g.labelBlocks, ['']);
    assert.deepEqual([...f.values, ...g.values], [3, 4]);
  });
});

void describe('MetricFamily.addRenderedWith', () => {
  void test('writes exactly what add() writes with the extra label, escaping included', () => {
    const viaAdd = new MetricFamily('x_state', 'h', 'gauge', ['vm', 'vm_moid', 'state']);
    const viaRendered = new MetricFamily('x_state', 'h', 'gauge', ['vm', 'vm_moid', 'state']);
    const ids: [string, string][] = [
      ['web "1"', 'vm-1'],
      ['back\\slash\nnl', 'vm-2'],
    ];
    for (const id of ids) {
      const rendered = renderLabels(['vm', 'vm_moid'], id);
      for (const state of ['poweredOn', 'odd "state"', 'poweredOn']) {
        viaAdd.add([...id, state], 1);
        viaRendered.addRenderedWith(rendered, state, 1);
      }
    }
    assert.equal(encodeFamilies([viaRendered]).toString(), encodeFamilies([viaAdd]).toString());
  });

  void test('mixed with add() and addRendered() in any order: every block and the encoding as add() alone gives', () => {
    const names = ['vm', 'vm_moid', 'state'];
    const mixed = new MetricFamily('x_state', 'h', 'gauge', names);
    const viaAdd = new MetricFamily('x_state', 'h', 'gauge', names);
    const rendered = renderLabels(['vm', 'vm_moid'], ['a', 'vm-1']);
    // Plain samples before the first head-and-tail one, between and after them.
    mixed.add(['b', 'vm-2', 'x'], 1);
    mixed.addRenderedWith(rendered, 'on', 2);
    mixed.addRendered(renderLabels(names, ['c', 'vm-3', 'y']), 3);
    mixed.addRenderedWith(rendered, 'off', 4);
    mixed.add(['d', 'vm-4', 'z'], 5);
    for (const [labels, v] of [
      [['b', 'vm-2', 'x'], 1],
      [['a', 'vm-1', 'on'], 2],
      [['c', 'vm-3', 'y'], 3],
      [['a', 'vm-1', 'off'], 4],
      [['d', 'vm-4', 'z'], 5],
    ] as const)
      viaAdd.add(labels, v);
    assert.deepEqual(mixed.labelBlocks, viaAdd.labelBlocks);
    assert.equal(encodeFamilies([mixed]).toString(), encodeFamilies([viaAdd]).toString());
  });

  void test('refuses labels rendered for other names or a family with one label', () => {
    const f = new MetricFamily('x_state', 'h', 'gauge', ['vm', 'vm_moid', 'state']);
    assert.throws(
      () => f.addRenderedWith(renderLabels(['host', 'host_moid'], ['h', 'host-1']), 's', 1),
      /expects/,
    );
    assert.throws(() => f.addRenderedWith(renderLabels(['vm'], ['a']), 's', 1), /expects/);
    const one = new MetricFamily('x_one', 'h', 'gauge', ['state']);
    assert.throws(() => one.addRenderedWith(renderLabels([], []), 's', 1), /expects/);
  });
});
