/**
 * Session login edge cases against a scripted transport: an answer without a session cookie, a
 * login that never completes, a session check cut by the caller's deadline, a slow Logout at close,
 * and the scrubbing of the password from vCenter's error texts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import { Secret } from '../../../src/config/secret.js';
import { orphanCookies } from '../../../src/vsphere/orphan-session.js';
import { SecretScrubber } from '../../../src/vsphere/secret-scrub.js';
import { Session } from '../../../src/vsphere/session.js';
import type { MoRef } from '../../../src/vsphere/soap/envelope.js';
import { isVsphereError, VsphereError } from '../../../src/vsphere/errors.js';
import type { CallOptions, SoapTransport } from '../../../src/vsphere/soap/transport.js';
import { parseXml, type XmlNode } from '../../../src/vsphere/soap/xml.js';

const PASSWORD = 'Sup3r-secret&<pw>';

const SERVICE_CONTENT = parseXml(
  '<RetrieveServiceContentResponse><returnval>' +
    '<rootFolder type="Folder">group-d1</rootFolder>' +
    '<propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>' +
    '<viewManager type="ViewManager">ViewManager</viewManager>' +
    '<sessionManager type="SessionManager">SessionManager</sessionManager>' +
    '<about><apiVersion>8.0.1.0</apiVersion></about>' +
    '</returnval></RetrieveServiceContentResponse>',
);
const EMPTY = parseXml('<Response/>');

type Handler = (options: CallOptions) => Promise<XmlNode>;

/** Answers per method as scripted; records each call's method and explicit cookie. */
class FakeTransport {
  apiVersion = '';
  hasSession = false;
  readonly calls: { method: string; cookie?: string }[] = [];
  constructor(readonly handlers: Record<string, Handler> = {}) {}
  clearSession(): void {
    this.hasSession = false;
  }
  call(method: string, _self: MoRef, _body: string, options: CallOptions = {}): Promise<XmlNode> {
    this.calls.push({ method, ...(options.cookie !== undefined && { cookie: options.cookie }) });
    if (method === 'RetrieveServiceContent') return Promise.resolve(SERVICE_CONTENT);
    const h = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    return h ? h(options) : Promise.resolve(EMPTY);
  }
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }
}

/** Settles only when `signal` fires, as a request with no answer does. */
function never(options: CallOptions): Promise<XmlNode> {
  return new Promise((_, reject) => {
    options.signal?.addEventListener('abort', () =>
      reject(new VsphereError('VSPHERE_ABORTED', 'aborted', { method: 'x' })),
    );
  });
}

function recordingLogger(): { logger: Logger; msgs: Record<string, unknown>[] } {
  const msgs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (l: string) => void msgs.push(JSON.parse(l) as Record<string, unknown>) },
  );
  return { logger, msgs };
}

function session(t: FakeTransport, logger: Logger, extra: { loginTimeoutMs?: number } = {}): Session {
  return new Session(t as unknown as SoapTransport, {
    user: 'exporter',
    password: { read: () => Promise.resolve(new Secret(PASSWORD)) },
    keepaliveIntervalMs: 600_000,
    logger,
    ...extra,
  });
}

/** A Login that succeeds with a session cookie. */
function okLogin(t: FakeTransport): Handler {
  return (o) => {
    o.onSetCookie?.(['vmware_soap_session="abc"; Path=/; HttpOnly']);
    t.hasSession = true;
    return Promise.resolve(EMPTY);
  };
}

describe('Session login', () => {
  // AbortSignal.timeout() is unref'd: in the exporter the server and sockets keep the loop alive
  // while a login deadline runs; here this timer does.
  let alive: NodeJS.Timeout;
  before(() => void (alive = setInterval(() => undefined, 1000)));
  after(() => clearInterval(alive));

  test('a Login answer without vmware_soap_session fails, logs out with the renamed cookie, backs off', async () => {
    const t: FakeTransport = new FakeTransport({
      Login: (o) => {
        o.onSetCookie?.(['proxy_renamed="c0ffee"; Path=/; HttpOnly']);
        return Promise.resolve(EMPTY);
      },
      Logout: (o) =>
        o.cookie === 'vmware_soap_session="c0ffee"'
          ? Promise.resolve(EMPTY)
          : Promise.reject(new VsphereError('VSPHERE_NOT_AUTHENTICATED', 'no', { faultType: 'x' })),
    });
    const { logger, msgs } = recordingLogger();
    const s = session(t, logger);
    await assert.rejects(
      s.ensure(),
      (e) => isVsphereError(e, 'VSPHERE_BAD_RESPONSE') && /vmware_soap_session cookie/.test(e.message),
    );
    assert.equal(s.isLoggedIn, false);
    assert.deepEqual(
      t.calls.filter((c) => c.method === 'Logout').map((c) => c.cookie),
      ['vmware_soap_session="c0ffee"'],
      'the session is logged out with the renamed cookie’s value',
    );
    // Back-off: the next attempts fail at once, without another Login.
    for (let i = 0; i < 5; i++)
      await assert.rejects(s.ensure(), (e) => isVsphereError(e, 'VSPHERE_BAD_RESPONSE'));
    assert.equal(t.count('Login'), 1, 'Login calls during the back-off');
    const line = msgs.find((m) => m.msg === 'vCenter Login answer had no session cookie; login failed');
    assert.ok(line, 'the failure is logged');
    assert.equal(line.retryInSeconds, 15);
    assert.equal(line.sessionLoggedOut, true);
    assert.equal(s.stats.loginFailures, 1);
    await s.close();
  });

  test('a Login answer with no cookie at all: failed, backed off, and the session left behind is said in the log', async () => {
    const t = new FakeTransport({ Login: () => Promise.resolve(EMPTY) });
    const { logger, msgs } = recordingLogger();
    const s = session(t, logger);
    await assert.rejects(s.ensure(), (e) => isVsphereError(e, 'VSPHERE_BAD_RESPONSE'));
    await assert.rejects(s.ensure(), (e) => isVsphereError(e, 'VSPHERE_BAD_RESPONSE'));
    assert.equal(t.count('Login'), 1, 'Login calls');
    assert.equal(t.count('Logout'), 0, 'no cookie to log out with');
    const left = msgs.find((m) =>
      String(m.msg).startsWith('a vCenter session the exporter cannot use is left'),
    );
    assert.ok(left, 'the session left behind is logged');
    assert.equal(left.triedCookies, 0);
    await s.close();
  });

  test('orphanCookies: ours first as it came, a renamed one under our name and as it came', () => {
    assert.deepEqual(orphanCookies(['vmware_soap_session="a"; Path=/', 'other=b; HttpOnly']), [
      'vmware_soap_session="a"',
      'vmware_soap_session=b',
      'other=b',
    ]);
    assert.deepEqual(orphanCookies(['other=b', 'vmware_soap_session="a"'], true), [
      'vmware_soap_session="a"',
    ]);
    assert.deepEqual(orphanCookies(['junk', '=x', 'y=']), []);
  });

  test('a Login that never completes is abandoned at the login deadline; its session is logged out', async () => {
    let answer = false;
    const t: FakeTransport = new FakeTransport({
      // Headers (with the cookie) came, the body trickles: the session exists on vCenter.
      Login: (o) => {
        if (answer) return okLogin(t)(o);
        o.onSetCookie?.(['vmware_soap_session="trickled"; Path=/']);
        return never(o);
      },
    });
    const s = session(t, pino({ level: 'silent' }), { loginTimeoutMs: 100 });
    await assert.rejects(
      s.ensure(),
      (e) => isVsphereError(e, 'VSPHERE_TIMEOUT') && /login deadline of 0.1 s/.test(e.message),
    );
    assert.deepEqual(
      t.calls.filter((c) => c.method === 'Logout').map((c) => c.cookie),
      ['vmware_soap_session="trickled"'],
      'the abandoned Login’s session is logged out with the cookie its headers carried',
    );
    answer = true;
    await s.ensure();
    assert.equal(s.isLoggedIn, true, 'the next attempt logs in (no back-off after a timeout)');
    await s.close();
  });

  test('a session check cut by the caller’s deadline says so (not "waiting for login")', async () => {
    const t = new FakeTransport({ RetrievePropertiesEx: never });
    const s = session(t, pino({ level: 'silent' }));
    t.handlers.Login = okLogin(t);
    await s.ensure();
    const ac = new AbortController();
    const pending = s.recover(s.generation, ac.signal);
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(pending, (e) => {
      assert.ok(isVsphereError(e, 'VSPHERE_ABORTED'));
      assert.equal(e.message, 'deadline reached while checking the vCenter session');
      return true;
    });
    await s.close();
  });

  test('close(deadline): a slow Logout gets the time left, not a fixed 1.5 s', async () => {
    const t: FakeTransport = new FakeTransport({
      Logout: (o) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve(EMPTY), 1800);
          o.signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new VsphereError('VSPHERE_ABORTED', 'Logout: cut'));
          });
        }),
    });
    t.handlers.Login = okLogin(t);
    const { logger, msgs } = recordingLogger();
    const s = session(t, logger);
    await s.ensure();
    await s.close(Date.now() + 10_000);
    assert.ok(
      msgs.some((m) => m.msg === 'logged out of vCenter'),
      `logged out: ${JSON.stringify(msgs.map((m) => m.msg))}`,
    );
  });

  test('a login that lands while close() waits for it leaves no keepalive timer running', async () => {
    let land: () => void = () => undefined;
    const t: FakeTransport = new FakeTransport({
      Login: (o) =>
        new Promise((resolve) => {
          land = () => {
            o.onSetCookie?.(['vmware_soap_session="abc"; Path=/; HttpOnly']);
            t.hasSession = true;
            resolve(EMPTY);
          };
        }),
    });
    const s = session(t, pino({ level: 'silent' }));
    const login = s.ensure().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const closed = s.close(Date.now() + 10_000);
    land();
    await closed;
    await login;
    assert.equal(t.count('Logout'), 1, 'the session the late login made is logged out');
    const keepalive = (s as unknown as { keepalive: { timer?: NodeJS.Timeout } }).keepalive;
    assert.equal(keepalive.timer, undefined, 'no keepalive timer holds the closed session');
  });

  test('close(deadline) abandons a login that never answers by the deadline', async () => {
    const t = new FakeTransport({ Login: never });
    const s = session(t, pino({ level: 'silent' }), { loginTimeoutMs: 600_000 });
    const login = s.ensure().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await s.close(Date.now() + 300);
    assert.ok(Date.now() - t0 < 5000, 'close returned (by its deadline, with a wide margin)');
    assert.ok(isVsphereError(await login, 'VSPHERE_ABORTED'), 'the login was aborted');
  });
});

describe('SecretScrubber', () => {
  test('removes the remembered passwords, raw, XML-escaped and URL-encoded, from messages and stacks', () => {
    const s = new SecretScrubber();
    const e = new VsphereError(
      'VSPHERE_FAULT',
      `Login: vCenter fault InvalidLogin: bad password '${PASSWORD}'`,
    );
    assert.equal(s.error(e), e, 'nothing remembered: unchanged');
    assert.ok(e.message.includes(PASSWORD));
    s.remember(new Secret(PASSWORD));
    s.error(e);
    assert.ok(!e.message.includes(PASSWORD) && !e.stack?.includes(PASSWORD));
    assert.match(e.message, /bad password '<secret>'/);
    const escaped = 'Sup3r-secret&amp;&lt;pw&gt;';
    assert.equal(s.text(`x ${escaped} y ${encodeURIComponent(PASSWORD)}`), 'x <secret> y <secret>');
    const inner = new Error(`cause ${PASSWORD}`);
    const outer = new Error('outer', { cause: inner });
    s.error(outer);
    assert.equal(inner.message, 'cause <secret>');
    // A read-only message in the chain (an abort reason) is left alone, not thrown over.
    const aborted = new VsphereError('VSPHERE_ABORTED', `x ${PASSWORD}`, {
      cause: new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    });
    assert.equal(s.error(aborted).message, 'x <secret>');
  });

  test('keeps the current and the previous password (rotation)', () => {
    const s = new SecretScrubber();
    s.remember(new Secret('first-pw'));
    s.remember(new Secret('second-pw'));
    assert.equal(s.text('first-pw second-pw'), '<secret> <secret>');
    s.remember(new Secret('third-pw'));
    assert.equal(s.text('first-pw second-pw third-pw'), 'first-pw <secret> <secret>');
  });
});
