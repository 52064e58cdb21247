import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { scrapeProblem, unzipped, type TimedScrape } from '../../../bench/scrape-client.js';

const text = 'vsphere_up 1\nvsphere_collector_success{collector="vm"} 1\n';
const scrape = (body: Buffer, contentEncoding?: string): TimedScrape => ({
  status: 200,
  wallMs: 1,
  body,
  contentEncoding,
});

void test('a gzipped scrape is read as its text: the same body, and the same verdict as the plain one', () => {
  const plain = scrape(Buffer.from(text));
  const zipped = scrape(gzipSync(text), 'gzip');
  assert.equal(scrapeProblem(unzipped(zipped)), undefined);
  assert.equal(unzipped(zipped).body.toString('utf8'), text);
  assert.equal(unzipped(zipped).contentEncoding, undefined);
  assert.equal(unzipped(plain), plain);
  // Read compressed, a complete collection looks like a failed one.
  assert.equal(scrapeProblem(zipped), 'vsphere_up is not 1');
});
