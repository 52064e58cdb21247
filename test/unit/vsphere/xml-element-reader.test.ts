import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, type ElementReader } from '../../../src/vsphere/soap/xml.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

/** A reader writing down what it is told, one line per event. */
function recorder(): { reader: ElementReader; log: string[] } {
  const log: string[] = [];
  return {
    log,
    reader: {
      open: (name, attrs, depth) => log.push(`open ${depth} ${name} ${JSON.stringify(attrs)}`),
      text: (t) => log.push(`text ${JSON.stringify(t)}`),
      close: (depth) => log.push(`close ${depth}`),
    },
  };
}

test('a stream reader is told each streamed element as read (local names, xsi:type without prefix); the rest stays in the tree', () => {
  const { reader, log } = recorder();
  const env = parseXml(
    `<E ${XSI}><B><R><returnval xsi:type="PerfEntityMetric"><entity type="VirtualMachine">vm-1</entity>` +
      '<v:value xmlns:v="urn:vim25">4<![CDATA[x]]>&amp;2</v:value></returnval><other>kept</other><returnval/></R></B></E>',
    { depth: 3, name: 'returnval', reader },
  );
  assert.deepEqual(log, [
    'open 0 returnval {"type":"PerfEntityMetric"}',
    'open 1 entity {"type":"VirtualMachine"}',
    'text "vm-1"',
    'close 1',
    'open 1 value {}',
    'text "4"',
    'text "&2"',
    'close 1',
    'close 0',
    'open 0 returnval {}',
    'close 0',
  ]);
  // Streamed elements are not in the tree; the others are.
  const r = env.children[0]!.children[0]!;
  assert.deepEqual(
    r.children.map((c) => [c.name, c.text]),
    [['other', 'kept']],
  );
});

test('what a stream reader throws fails the answer as VSPHERE_BAD_RESPONSE, and it is told nothing more', () => {
  let told = 0;
  const reader: ElementReader = {
    open: () => {
      if (++told === 2) throw new Error('boom');
    },
    text: () => told++,
    close: () => told++,
  };
  assert.throws(
    () =>
      parseXml('<E><B><R><returnval><a>x</a><b/></returnval></R></B></E>', {
        depth: 3,
        name: 'returnval',
        reader,
      }),
    (e: unknown) =>
      e instanceof VsphereError &&
      e.code === 'VSPHERE_BAD_RESPONSE' &&
      /unreadable returnval element: boom/.test(e.message),
  );
  assert.equal(told, 2);
});
