import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clipText, errorText, MAX_ERROR_TEXT } from '../../../src/scrape/error-text.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

// The message the issue quoted, cut by the old 200-character slice at "…the first certifica".
const TLS =
  'RetrieveServiceContent: TLS verification of vCenter failed: certificate signed by a CA this exporter ' +
  'does not trust (set ca_file): UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate';

void describe('error texts in vsphere_last_error_info and on the status page', () => {
  void it('keeps a message of a few hundred characters whole', () => {
    assert.ok(TLS.length > 200);
    assert.equal(errorText(new VsphereError('VSPHERE_TLS', TLS)), TLS);
  });

  void it('cuts a longer one at a word boundary and says so with an ellipsis', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const cut = clipText(words, 100);
    assert.ok([...cut].length <= 100, cut);
    assert.ok(cut.endsWith('…'), cut);
    const kept = cut.slice(0, -1).split(' ');
    assert.deepEqual(kept, words.split(' ').slice(0, kept.length), 'only whole words are kept');
    assert.ok(clipText(`${'a'.repeat(50)}, ${'b'.repeat(100)}`, 100).endsWith('a…'), 'no dangling comma');
  });

  void it('cuts one endless word where it must, and never splits a character', () => {
    const blob = 'x'.repeat(MAX_ERROR_TEXT * 3);
    assert.equal(clipText(blob), `${'x'.repeat(MAX_ERROR_TEXT - 1)}…`);
    const emoji = '😀'.repeat(20);
    assert.equal(clipText(emoji, 10), `${'😀'.repeat(9)}…`);
  });
});
