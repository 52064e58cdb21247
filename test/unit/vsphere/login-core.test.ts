/**
 * The login core the SOAP and the vAPI (REST) session share: a password source read at each login,
 * one scrubber that learns what either session sent, one login deadline, and a close that settles
 * a login in flight. Scripted transports; no network.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../src/log/logger.js';
import type { Password, PasswordSource } from '../../../src/vsphere/credentials.js';
import { RestSession } from '../../../src/vsphere/rest/session.js';
import type { RestRequest, RestResponse, RestTransport } from '../../../src/vsphere/rest/transport.js';
import { SecretScrubber } from '../../../src/vsphere/secret-scrub.js';
import { Session } from '../../../src/vsphere/session.js';
import { isVsphereError, VsphereError } from '../../../src/vsphere/errors.js';
import type { SoapTransport } from '../../../src/vsphere/soap/transport.js';

const PASSWORD = 'rest-Secret-42';
const plain = (value: string): Password => ({ reveal: () => value });

/** A vAPI stand-in: `login` answers POST /session; every call is recorded with its signal. */
class FakeRest {
  readonly requests: { method: string; signal?: AbortSignal | undefined }[] = [];
  closed = false;
  constructor(private readonly login: (req: RestRequest) => Promise<RestResponse>) {}
  request(req: RestRequest): Promise<RestResponse> {
    this.requests.push({ method: req.method, signal: req.signal });
    if (req.method === 'POST') return this.login(req);
    if (req.method === 'DELETE') return Promise.resolve({ status: 200, json: undefined });
    // An error page that quotes the request, password included (some proxies do).
    return Promise.resolve({ status: 200, json: { value: `echo ${PASSWORD}` } });
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Settles only when the request's signal fires, as a login nobody answers does. */
function unanswered(req: RestRequest): Promise<RestResponse> {
  return new Promise((_, reject) =>
    req.signal?.addEventListener('abort', () =>
      reject(new VsphereError('VSPHERE_ABORTED', 'POST /rest/com/vmware/cis/session: aborted')),
    ),
  );
}

const okLogin = (): Promise<RestResponse> => Promise.resolve({ status: 200, json: { value: 'sid-1' } });

function rest(
  t: FakeRest,
  password: PasswordSource,
  extra: { scrubber?: SecretScrubber; loginTimeoutMs?: number } = {},
) {
  return new RestSession(t as unknown as RestTransport, {
    user: 'u',
    password,
    logger: silentLogger(),
    ...extra,
  });
}

describe('login core shared by the SOAP and REST sessions', () => {
  // AbortSignal.timeout() is unref'd: this keeps the loop alive while a login deadline runs.
  let alive: NodeJS.Timeout;
  before(() => void (alive = setInterval(() => undefined, 1000)));
  after(() => clearInterval(alive));

  test('a password source that cannot be read fails either login as VSPHERE_PASSWORD_UNREADABLE, in its words', async () => {
    const why = 'targets[eu].password_file: /run/pw is a named pipe (FIFO), not a regular file';
    const source: PasswordSource = { read: () => Promise.reject(new Error(why)) };
    const t = new FakeRest(okLogin);
    await assert.rejects(
      rest(t, source).call('GET', '/rest/x', undefined, AbortSignal.timeout(5000)),
      (e) => isVsphereError(e, 'VSPHERE_PASSWORD_UNREADABLE') && e.message === why,
    );
    assert.equal(t.requests.length, 0, 'nothing sent to vCenter without a password');
    const soap = new Session({ clearSession: () => undefined } as unknown as SoapTransport, {
      user: 'u',
      password: source,
      keepaliveIntervalMs: 600_000,
      logger: silentLogger(),
    });
    await assert.rejects(
      soap.ensure(),
      (e) => isVsphereError(e, 'VSPHERE_PASSWORD_UNREADABLE') && e.message === why,
    );
    assert.equal(soap.stats.loginFailures, 1);
    await soap.close();
  });

  test('the scrubber given to the REST session learns the password it sent, for the SOAP side too', async () => {
    const scrubber = new SecretScrubber();
    let reads = 0;
    const source: PasswordSource = {
      read: () => {
        reads++;
        return Promise.resolve(plain(PASSWORD));
      },
    };
    const s = rest(new FakeRest(okLogin), source, { scrubber });
    assert.equal(await s.call('GET', '/rest/x', undefined, AbortSignal.timeout(5000)), `echo ${PASSWORD}`);
    assert.equal(reads, 1, 'read once per login, not per call');
    assert.equal(scrubber.text(`fault: bad request ${PASSWORD}`), 'fault: bad request <secret>');
    await s.close();
  });

  test('a REST login nobody answers ends at the login deadline, not at the caller’s', async () => {
    const t = new FakeRest(unanswered);
    const s = rest(t, { read: () => Promise.resolve(plain(PASSWORD)) }, { loginTimeoutMs: 100 });
    await assert.rejects(
      s.call('GET', '/rest/x', undefined, AbortSignal.timeout(60_000)),
      (e) => isVsphereError(e, 'VSPHERE_TIMEOUT') && /login deadline of 0.1 s/.test(e.message),
    );
    assert.equal(t.requests[0]?.signal?.aborted, true, 'the login request itself was cut');
    await s.close();
  });

  test('close aborts a REST login in flight by its deadline, and later calls fail as closed', async () => {
    const t = new FakeRest(unanswered);
    const s = rest(t, { read: () => Promise.resolve(plain(PASSWORD)) });
    const call = s.call('GET', '/rest/x', undefined, AbortSignal.timeout(60_000));
    const failed = assert.rejects(call, (e) => isVsphereError(e, 'VSPHERE_ABORTED'));
    while (t.requests.length === 0) await new Promise((r) => setImmediate(r));
    await s.close(Date.now() + 200);
    await failed;
    const login = t.requests[0]?.signal;
    assert.equal(login?.aborted, true);
    assert.match(String((login?.reason as Error).message), /shutting down/);
    assert.ok(t.closed, 'the transport is closed');
    await assert.rejects(s.call('GET', '/rest/x', undefined, AbortSignal.timeout(5000)), (e) =>
      isVsphereError(e, 'VSPHERE_CLOSED'),
    );
  });
});
