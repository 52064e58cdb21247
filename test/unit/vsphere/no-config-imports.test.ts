/**
 * vsphere/ is the only code that talks to vCenter and takes what it needs (a password source,
 * plain connection settings) from whoever builds it: nothing under src/vsphere/ imports src/config/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const VSPHERE = join(ROOT, 'src', 'vsphere');
const CONFIG = join(ROOT, 'src', 'config');

// Static imports and re-exports (`import … from`, `import '…'`, `export … from`) and dynamic import().
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"]+)\1/g;

/** The relative specifiers `text` (the source of `file`) imports that resolve under src/config/. */
function configImports(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[2] ?? '';
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (target === CONFIG || target.startsWith(CONFIG + sep)) out.push(spec);
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

void describe('vsphere/ imports nothing from config/', () => {
  test('the check finds every form of import of config/, from any depth under vsphere/', () => {
    const top = join(VSPHERE, 'session.ts');
    const nested = join(VSPHERE, 'rest', 'session.ts');
    assert.deepEqual(configImports(top, "import type { Secret } from '../config/secret.js';"), [
      '../config/secret.js',
    ]);
    assert.deepEqual(
      configImports(
        nested,
        "import { readPassword } from '../../config/load.js';\n" +
          "export { x } from '../../config/schema.js';\nconst m = await import('../../config/load.js');",
      ),
      ['../../config/load.js', '../../config/schema.js', '../../config/load.js'],
    );
    assert.deepEqual(
      configImports(nested, "import { a } from '../connect.js';\nimport { Pool } from 'undici';"),
      [],
      'neither a sibling nor a package is config/',
    );
  });

  test('no file under src/vsphere/ imports from src/config/', () => {
    const files = sources(VSPHERE);
    assert.ok(files.length > 20, `read ${files.length} files under src/vsphere/`);
    let relativeImports = 0;
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      relativeImports += [...text.matchAll(SPECIFIER)].filter((m) => m[2]?.startsWith('.')).length;
      for (const spec of configImports(file, text)) offenders.push(`${relative(ROOT, file)}: ${spec}`);
    }
    assert.ok(relativeImports > 50, `the pattern sees the files' imports (${relativeImports})`);
    assert.deepEqual(offenders, []);
  });
});
