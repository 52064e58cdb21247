// The project's layering, read from the import statements of src/: data flows vCenter → vsphere/ →
// collectors/ → exposition/; config/ depends on nothing of ours but the import-free model/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** One module specifier of a file: static import, re-export or dynamic import(). */
interface Import {
  file: string;
  specifier: string;
  /** The src/-relative path it resolves to (relative specifiers only), without extension. */
  target?: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(SRC, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
    .sort();
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: Import[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!spec || !ts.isStringLiteral(spec)) return;
    const specifier = spec.text;
    const target = specifier.startsWith('.')
      ? relative(SRC, resolve(SRC, dirname(file), specifier)).replace(/\.js$/, '')
      : undefined;
    out.push({ file, specifier, target, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const allTypes =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            bindings !== undefined &&
            ts.isNamedImports(bindings) &&
            bindings.elements.length > 0 &&
            bindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const show = (list: readonly Import[]): string =>
  list.map((i) => `${i.file}: ${i.specifier}`).join('\n') || '(none)';
const under = (i: Import, dir: string): boolean => i.target?.startsWith(`${dir}/`) === true;

void describe('import rules of src/', () => {
  void it('the import reader sees static, re-exported, dynamic and type-only imports', () => {
    const found = importsOf('config/schema.ts');
    assert.ok(found.some((i) => i.specifier === 'zod' && !i.typeOnly));
    assert.ok(found.some((i) => i.target === 'model/names'));
    const collector = importsOf('collectors/collector.ts');
    assert.ok(collector.some((i) => i.target === 'vsphere/answer-data' && i.typeOnly));
    assert.ok(collector.some((i) => i.target === 'exposition/index' && !i.typeOnly));
  });

  void it('config/ imports nothing of ours but config/ and model/ (never collectors/)', () => {
    const files = sourceFiles('config');
    assert.ok(files.length >= 5, `config files found: ${files.join(', ')}`);
    const bad = files
      .flatMap(importsOf)
      .filter((i) => i.target !== undefined && !under(i, 'config') && !under(i, 'model'));
    assert.deepEqual(bad, [], `config/ must not import these:\n${show(bad)}`);
  });

  void it('model/ imports nothing at all: config/ and collectors/ share it without loading either', () => {
    const bad = sourceFiles('model').flatMap(importsOf);
    assert.deepEqual(bad, [], `model/ must stay import-free:\n${show(bad)}`);
  });

  void it('the perf path of collectors/ goes through the PerfManager only', () => {
    // historical.ts once sent its own QueryPerf; the client, the property collector and the
    // transports are vsphere/'s, reached by collectors only as ctx.perf.
    const perfFiles = sourceFiles('collectors').filter((f) => /\/(historical|perf)[^/]*\.ts$/.test(f));
    assert.ok(perfFiles.includes('collectors/historical.ts'), perfFiles.join(', '));
    const bad = perfFiles.flatMap(importsOf).filter((i) => talksToVcenter(i, true));
    assert.deepEqual(bad, [], show(bad));
  });

  void it('vsphere/ imports nothing from config/ (the password comes from an injected source)', () => {
    const found = sourceFiles('vsphere')
      .flatMap(importsOf)
      .filter((i) => under(i, 'config'));
    assert.deepEqual(found, [], `vsphere/ → config/ imports:\n${show(found)}`);
  });

  void it('collectors/ do not talk to vCenter (they read the inventory model and ctx.perf)', () => {
    const found = sourceFiles('collectors')
      .flatMap(importsOf)
      .filter((i) => talksToVcenter(i, false));
    assert.deepEqual(found, [], `collectors/ → vCenter client imports:\n${show(found)}`);
  });

  void it('collectors/ import nothing under vsphere/rest/ or vsphere/soap/, not even a type', () => {
    // Their data shapes live beside the sources (answer-data, tag-data); an error class or an API
    // type from the wire layer would tie a pure collector to how vCenter is asked.
    const found = sourceFiles('collectors')
      .flatMap(importsOf)
      .filter((i) => under(i, 'vsphere/rest') || under(i, 'vsphere/soap'));
    assert.deepEqual(found, [], `collectors/ → wire-layer imports:\n${show(found)}`);
  });

  void it('vsphere/rest/ and vsphere/soap/ import nothing from each other, not even a type', () => {
    // What both transports share (the error type, the body reader, HTTP errors, login) is
    // transport-neutral and lives in vsphere/ itself.
    const rest = sourceFiles('vsphere/rest');
    const soap = sourceFiles('vsphere/soap');
    assert.ok(rest.length >= 3 && soap.length >= 3, `${rest.join(', ')} / ${soap.join(', ')}`);
    const found = [
      ...rest.flatMap(importsOf).filter((i) => under(i, 'vsphere/soap')),
      ...soap.flatMap(importsOf).filter((i) => under(i, 'vsphere/rest')),
    ];
    assert.deepEqual(found, [], `rest/ ↔ soap/ imports:\n${show(found)}`);
  });
});

/**
 * True for an import of the code that sends requests: the SOAP/REST clients, sessions, transports
 * and the property collector (a type, e.g. ObjectContent, is data; `strict` forbids those too).
 */
function talksToVcenter(i: Import, strict: boolean): boolean {
  const t = i.target;
  if (t === undefined || (i.typeOnly && !strict)) return false;
  return (
    t === 'vsphere/client' ||
    t === 'vsphere/connect' ||
    t === 'vsphere/session' ||
    t === 'vsphere/property-collector' ||
    t === 'vsphere/soap/transport' ||
    t === 'vsphere/perf-historical' ||
    t.startsWith('vsphere/rest/')
  );
}
