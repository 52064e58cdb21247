import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONTENT_TYPE,
  MetricFamily,
  encodeFamilies,
  escapeHelp,
  familyChunks,
  escapeLabelValue,
  formatValue,
} from '../../../src/exposition/index.js';

void describe('escapeLabelValue', () => {
  void test('escapes backslash, double quote and newline', () => {
    assert.equal(escapeLabelValue('a\\b'), 'a\\\\b');
    assert.equal(escapeLabelValue('say "hi"'), 'say \\"hi\\"');
    assert.equal(escapeLabelValue('line1\nline2'), 'line1\\nline2');
    assert.equal(escapeLabelValue('\\"\n'), '\\\\\\"\\n');
  });

  void test('leaves other characters verbatim, including tabs, CR and multibyte UTF-8', () => {
    for (const s of ['vm-ünïcødé ☃', 'tab\there', 'cr\rhere', '😀 emoji', "single 'quote'", '', '{}=,']) {
      assert.equal(escapeLabelValue(s), s);
    }
  });

  void test('returns the input unchanged when nothing needs escaping', () => {
    const s = 'plain-value-' + String(Date.now());
    assert.equal(escapeLabelValue(s), s);
  });
});

void describe('escapeHelp', () => {
  void test('escapes backslash and newline but not double quotes', () => {
    assert.equal(escapeHelp('C:\\path\nnext "quoted"'), 'C:\\\\path\\nnext "quoted"');
    assert.equal(escapeHelp('vm-ünïcødé ☃'), 'vm-ünïcødé ☃');
  });
});

void describe('formatValue', () => {
  void test('special values use Prometheus spellings', () => {
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
  });

  void test('zero keeps its sign', () => {
    assert.equal(formatValue(0), '0');
    assert.equal(formatValue(-0), '-0');
  });

  void test('integers are printed without exponent', () => {
    assert.equal(formatValue(17179869184), '17179869184');
    assert.equal(formatValue(-42), '-42');
    assert.equal(formatValue(Number.MAX_SAFE_INTEGER), '9007199254740991');
    assert.equal(formatValue(2 ** 64), '18446744073709552000');
    assert.equal(formatValue(1e20), '100000000000000000000');
  });

  void test('floats use shortest round-trip form valid for Go ParseFloat', () => {
    assert.equal(formatValue(0.1), '0.1');
    assert.equal(formatValue(1.5), '1.5');
    assert.equal(formatValue(1e-7), '1e-7');
    assert.equal(formatValue(1.5e21), '1.5e+21');
    assert.equal(formatValue(5e-324), '5e-324');
    assert.equal(formatValue(Number.MAX_VALUE), '1.7976931348623157e+308');
  });
});

void describe('encodeFamilies', () => {
  void test('encodes a multi-family example exactly', () => {
    const up = new MetricFamily('vsphere_up', 'Whether vCenter is reachable.', 'gauge', []);
    up.add([], 1);
    const cpu = new MetricFamily('vsphere_vm_cpu_usage_mhz', 'CPU usage\nin MHz (C:\\)', 'gauge', [
      'vm',
      'host',
    ]);
    cpu.add(['web-01', 'esx1'], 1234.5);
    cpu.add(['vm-ünïcødé ☃', 'esx"2"'], NaN);
    cpu.add(['back\\slash', 'new\nline'], -Infinity);
    const reads = new MetricFamily('vsphere_disk_reads_total', 'Disk reads.', 'counter', ['vm']);
    reads.add(['web-01'], 17179869184);
    const body = encodeFamilies([up, cpu, reads]);
    assert.ok(Buffer.isBuffer(body));
    assert.equal(
      body.toString('utf8'),
      [
        '# HELP vsphere_up Whether vCenter is reachable.',
        '# TYPE vsphere_up gauge',
        'vsphere_up 1',
        '# HELP vsphere_vm_cpu_usage_mhz CPU usage\\nin MHz (C:\\\\)',
        '# TYPE vsphere_vm_cpu_usage_mhz gauge',
        'vsphere_vm_cpu_usage_mhz{vm="web-01",host="esx1"} 1234.5',
        'vsphere_vm_cpu_usage_mhz{vm="vm-ünïcødé ☃",host="esx\\"2\\""} NaN',
        'vsphere_vm_cpu_usage_mhz{vm="back\\\\slash",host="new\\nline"} -Inf',
        '# HELP vsphere_disk_reads_total Disk reads.',
        '# TYPE vsphere_disk_reads_total counter',
        'vsphere_disk_reads_total{vm="web-01"} 17179869184',
        '',
      ].join('\n'),
    );
  });

  void test('multibyte characters are encoded as UTF-8 bytes', () => {
    const f = new MetricFamily('m', 'h', 'untyped', ['l']);
    f.add(['☃'], 1);
    const body = encodeFamilies([f]);
    assert.ok(body.includes(Buffer.from([0xe2, 0x98, 0x83])));
    assert.equal(body.toString('utf8'), '# HELP m h\n# TYPE m untyped\nm{l="☃"} 1\n');
  });

  void test('lone surrogates become U+FFFD so the body stays valid UTF-8', () => {
    const f = new MetricFamily('m', 'h', 'gauge', ['l']);
    f.add(['a\uD800b'], 1);
    assert.equal(encodeFamilies([f]).toString('utf8'), '# HELP m h\n# TYPE m gauge\nm{l="a\uFFFDb"} 1\n');
  });

  void test('families without samples are skipped', () => {
    const empty = new MetricFamily('empty_metric', 'never set', 'gauge', ['x']);
    const one = new MetricFamily('one', 'h', 'gauge', []);
    one.add([], 0);
    assert.equal(encodeFamilies([empty, one]).toString(), '# HELP one h\n# TYPE one gauge\none 0\n');
    assert.equal(encodeFamilies([empty]).length, 0);
    assert.equal(encodeFamilies([]).length, 0);
  });

  void test('duplicate family names throw, even when one is empty', () => {
    const a = new MetricFamily('dup', 'a', 'gauge', []);
    a.add([], 1);
    const b = new MetricFamily('dup', 'b', 'counter', []);
    assert.throws(() => encodeFamilies([a, b]), /Duplicate metric family name dup/);
    assert.throws(() => encodeFamilies([b, a]), /Duplicate metric family name dup/);
  });

  void test('accepts any iterable, including a generator', () => {
    function* gen(): Generator<MetricFamily> {
      const f = new MetricFamily('g', 'h', 'gauge', []);
      f.add([], 2);
      yield f;
    }
    assert.equal(encodeFamilies(gen()).toString(), '# HELP g h\n# TYPE g gauge\ng 2\n');
  });

  void test('bodies spanning many chunks match a naive encoding byte for byte', () => {
    const f = new MetricFamily('big_metric', 'h', 'gauge', ['vm', 'note']);
    let expected = '# HELP big_metric h\n# TYPE big_metric gauge\n';
    for (let i = 0; i < 20_000; i++) {
      const vm = `vm-${i}-ünï☃😀`;
      f.add([vm, 'q"\\\n'], i / 7);
      expected += `big_metric{vm="${vm}",note="q\\"\\\\\\n"} ${String(i / 7)}\n`;
    }
    const body = encodeFamilies([f]);
    assert.ok(body.length > 4 * 64 * 1024);
    assert.ok(body.equals(Buffer.from(expected, 'utf8')));
  });
});

void describe('familyChunks', () => {
  const CHUNK = 64 * 1024;
  // A body of many chunks, with a line longer than a chunk and HELP text longer than a chunk.
  function families(): MetricFamily[] {
    const small = new MetricFamily('small_metric', 'h', 'gauge', ['vm']);
    for (let i = 0; i < 5_000; i++) small.add([`vm-${i}-☃`], i);
    const long = new MetricFamily('long_metric', 'h'.repeat(70_000) + '☃', 'gauge', ['note']);
    long.add(['n'.repeat(100_000) + '😀'], 1);
    long.add(['short'], 2);
    const after = new MetricFamily('after_metric', 'h', 'gauge', []);
    after.add([], 0.25);
    return [small, long, after];
  }
  const expected = (): string => {
    let text = '# HELP small_metric h\n# TYPE small_metric gauge\n';
    for (let i = 0; i < 5_000; i++) text += `small_metric{vm="vm-${i}-☃"} ${i}\n`;
    text += `# HELP long_metric ${'h'.repeat(70_000)}☃\n# TYPE long_metric gauge\n`;
    text += `long_metric{note="${'n'.repeat(100_000)}😀"} 1\nlong_metric{note="short"} 2\n`;
    return text + '# HELP after_metric h\n# TYPE after_metric gauge\nafter_metric 0.25\n';
  };

  void test('kept chunks are each at most 64 KiB but for a line longer than that, and join to the body', () => {
    const chunks = [...familyChunks(families())];
    assert.ok(chunks.length > 3);
    const long = chunks.filter((c) => c.length > CHUNK);
    assert.equal(long.length, 2, 'the long HELP block and the long line are chunks of their own');
    assert.ok(long[1]!.toString('utf8').startsWith('long_metric{note="nnn'));
    assert.equal(Buffer.concat(chunks).toString('utf8'), expected());
  });

  void test('with reuse every chunk is written into one buffer, and copied as it comes gives the same body', () => {
    const copies: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    for (const chunk of familyChunks(families(), true)) {
      if (chunk.length <= CHUNK) seen.add(chunk.buffer);
      copies.push(Buffer.from(chunk));
    }
    assert.equal(seen.size, 1);
    assert.equal(Buffer.concat(copies).toString('utf8'), expected());
  });

  void test('a small body is kept at its size, not in a 64 KiB buffer', () => {
    const f = new MetricFamily('m', 'h', 'gauge', []);
    f.add([], 1);
    const [chunk, ...more] = [...familyChunks([f])];
    assert.equal(more.length, 0);
    assert.equal(chunk!.buffer.byteLength < CHUNK, true);
  });
});

void test('CONTENT_TYPE is the 0.0.4 text format', () => {
  assert.equal(CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
});
