/** HttpServer.close: in-flight answers get the grace time, and no connection outlives it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { silentLogger } from '../../../src/log/logger.js';
import { HttpServer } from '../../../src/server/http-server.js';
import { WebSecurity } from '../../../src/server/web-security.js';
import { makeTestPki, type TestPki } from '../../harness/tls-fixtures.js';

let pki: TestPki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.remove());

/** A raw TCP connection to `port` that sends nothing (no TLS ClientHello, no request). */
const idle = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });

for (const tls of [false, true])
  test(`close() ends at its grace time with a connection that never sent a byte (${tls ? 'TLS: no handshake yet' : 'plain HTTP'})`, async (t) => {
    let web: WebSecurity | undefined;
    if (tls) {
      const file = join(pki.dir, 'web.yml');
      writeFileSync(
        file,
        `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n`,
      );
      web = await WebSecurity.start(file, silentLogger());
    }
    const server = new HttpServer(silentLogger(), web);
    try {
      const { port } = await server.listen('127.0.0.1:0');
      const socket = await idle(port);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const started = performance.now();
      await server.close(200);
      const ms = performance.now() - started;
      t.diagnostic(`close(200) took ${ms.toFixed(0)} ms`);
      // A TLS connection still in its handshake is no HTTP connection: only the socket itself can be cut
      // before the 10 s handshake timeout.
      assert.ok(ms < 5000, `close took ${ms.toFixed(0)} ms`);
      await closed;
    } finally {
      web?.close();
    }
  });
