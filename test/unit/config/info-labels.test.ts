import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BASE_ENV, fails, run, TempDir } from './helpers.js';

const tmp = new TempDir();
const write = tmp.write.bind(tmp);
let env: Record<string, string> = {};
before(() => {
  env = { ...BASE_ENV, VSPHERE_PASSWORD_FILE: write('pw', 'hunter2\n') };
});

void describe('info_labels', () => {
  void it('is empty by default and needs no tag collector then', async () => {
    assert.deepEqual((await run([], env)).options.infoLabels, { tagCategories: [], customAttributes: [] });
    const empty = write('empty.yml', 'info_labels: {tag_categories: []}\n');
    assert.deepEqual((await run(['--config.file', empty], env)).options.infoLabels, {
      tagCategories: [],
      customAttributes: [],
    });
  });

  void it('reads tag categories and custom attributes when the tag collector is on (YAML or flag)', async () => {
    const file = write(
      'on.yml',
      'collectors: {tag: true}\ninfo_labels:\n  tag_categories: [env, "Owner Team"]\n  custom_attributes: [owner]\n',
    );
    const c = await run(['--config.file', file], env);
    assert.deepEqual(c.options.infoLabels, {
      tagCategories: ['env', 'Owner Team'],
      customAttributes: ['owner'],
    });
    const flag = write('flag.yml', 'info_labels:\n  custom_attributes: [owner]\n');
    const f = await run(['--config.file', flag, '--collector.tag'], env);
    assert.deepEqual(f.options.infoLabels.customAttributes, ['owner']);
  });

  void it('refuses promotion without the tag collector, naming the targets that have it off', async () => {
    const file = write('off.yml', 'info_labels:\n  tag_categories: [env]\n');
    await fails(
      ['--config.file', file],
      env,
      /info_labels in .*off\.yml line \d+: info_labels needs the tag collector: set collectors\.tag: true \/ --collector\.tag \(off for target "default"\)/,
    );
    const targets = write(
      'targets.yml',
      `collectors: {tag: true}
info_labels: {custom_attributes: [owner]}
targets:
  - {name: eu, url: "https://vc-eu", user: u, password_file: pw}
  - {name: lab, url: "https://vc-lab", user: u, password_file: pw, collectors: {tag: false}}
`,
    );
    await fails(['--config.file', targets], {}, /needs the tag collector.*\(off for target "lab"\)/);
  });

  void it('refuses colliding and empty label names, naming the key and line', async () => {
    const file = write(
      'collide.yml',
      'collectors: {tag: true}\ninfo_labels:\n  tag_categories:\n    - Owner Team\n    - owner-team\n  custom_attributes: ["☃"]\n',
    );
    await fails(
      ['--config.file', file],
      env,
      /info_labels\.tag_categories\.1 in .*collide\.yml line 5: "owner-team" \(label tag_owner_team\) collides with info_labels\.tag_categories\.0 \("Owner Team"\)/,
    );
    await fails(
      ['--config.file', file],
      env,
      /info_labels\.custom_attributes\.0 in .*collide\.yml line 6: "☃" gives an empty label name/,
    );
  });

  void it('rejects wrong shapes and unknown keys', async () => {
    await fails(
      ['--config.file', write('bad.yml', 'info_labels:\n  tag_categories: env\n')],
      env,
      /info_labels\.tag_categories.*expected a list of tag category names/,
    );
    await fails(
      ['--config.file', write('blank.yml', 'info_labels:\n  custom_attributes: [""]\n')],
      env,
      /info_labels\.custom_attributes\.0.*expected a non-empty string/,
    );
    await fails(
      ['--config.file', write('unknown.yml', 'info_labels:\n  attributes: [owner]\n')],
      env,
      /unknown key info_labels\.attributes/,
    );
  });
});
