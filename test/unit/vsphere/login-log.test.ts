import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { LoginFailureLog } from '../../../src/vsphere/login-log.js';
import { failureCause, loginProblem } from '../../../src/vsphere/login-problem.js';
import { VsphereError } from '../../../src/vsphere/errors.js';

const URL_ = new URL('https://vc.example.com/sdk');

function socketError(code: string, msg: string): VsphereError {
  const inner = Object.assign(new Error(msg), { code });
  const wrapped = Object.assign(new Error('other side closed', { cause: inner }), { code: 'UND_ERR_SOCKET' });
  return new VsphereError('VSPHERE_CONNECTION', `Login: ${code}: ${msg}`, { cause: wrapped });
}

function recorder(): { lines: Record<string, unknown>[]; log: LoginFailureLog } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info', base: null },
    { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
  );
  return { lines, log: new LoginFailureLog(logger, 'ro', URL_) };
}

void describe('login failures in the log', () => {
  void it('logs the first failure of a cause once, again when it changes, and the recovery', () => {
    const { lines, log } = recorder();
    for (let i = 0; i < 5; i++) log.failed(socketError('ECONNREFUSED', 'connect ECONNREFUSED'), false);
    assert.equal(lines.length, 1, 'five refused connections are one line');
    assert.equal(lines[0]!.msg, 'vCenter login failed');
    assert.equal(lines[0]!.cause, 'VSPHERE_CONNECTION:ECONNREFUSED');
    assert.match(String(lines[0]!.hint), /nothing accepts connections on vc\.example\.com:443/);
    assert.match(log.lastProblem ?? '', /^cannot connect to vc\.example\.com: /);
    log.failed(socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND vc.example.com'), false);
    assert.equal(lines.length, 2, 'a new cause is a new line');
    assert.match(String(lines[1]!.hint), /vc\.example\.com does not resolve/);
    log.succeeded();
    assert.equal(lines[2]!.msg, 'vCenter login works again');
    assert.equal(lines[2]!.previousCause, 'VSPHERE_CONNECTION:ENOTFOUND');
    assert.equal(log.lastProblem, undefined);
    log.succeeded();
    assert.equal(lines.length, 3, 'a login after a login is no recovery');
    log.failed(socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND vc.example.com'), false);
    assert.equal(lines.length, 4, 'the same cause after a recovery is logged again');
  });

  void it('counts failures logged elsewhere (refused password) as a cause without a second line', () => {
    const { lines, log } = recorder();
    const refused = new VsphereError('VSPHERE_INVALID_LOGIN', 'Login: InvalidLogin', {
      faultType: 'InvalidLogin',
    });
    log.failed(refused, true);
    log.failed(refused, true);
    assert.equal(lines.length, 0);
    assert.match(log.lastProblem ?? '', /^login refused for user ro /);
    log.succeeded();
    assert.equal(lines[0]!.msg, 'vCenter login works again');
  });

  void it('ignores logins cut by shutdown', () => {
    const { lines, log } = recorder();
    log.failed(new VsphereError('VSPHERE_ABORTED', 'Login: exporter shutting down'), false);
    log.failed(new VsphereError('VSPHERE_CLOSED', 'session is closed'), false);
    assert.equal(lines.length, 0);
    assert.equal(log.lastProblem, undefined);
  });

  void it('names the cause and the fix for each socket error, like check does', () => {
    const timeout = new VsphereError('VSPHERE_TIMEOUT', 'Login: Connect Timeout Error', {
      cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
    });
    assert.equal(failureCause(timeout), 'VSPHERE_TIMEOUT:UND_ERR_CONNECT_TIMEOUT');
    assert.match(
      loginProblem(timeout, 'ro', URL_),
      /^cannot connect to vc\.example\.com: .*no answer from vc\.example\.com:443 within the connect timeout/,
    );
    for (const [code, hint] of [
      ['EAI_AGAIN', /DNS lookup of vc\.example\.com failed/],
      ['EHOSTUNREACH', /no route to vc\.example\.com/],
      ['ECONNRESET', /closed the connection/],
    ] as const) {
      assert.match(loginProblem(socketError(code, code), 'ro', URL_), hint);
    }
    assert.equal(failureCause(new Error('boom')), 'UNKNOWN');
  });
});
