/**
 * A deliberately tiny vim25 SOAP client (undici + string handling) for tests to observe vcsim
 * directly. It shares no code with the exporter's client, so it cannot share its bugs either.
 */
import { Agent, request } from 'undici';

// vcsim started with -tls-cert usually has a self-signed certificate; the harness only talks to
// a simulator it started itself.
const agent = new Agent({ connect: { rejectUnauthorized: false } });

/** A SOAP fault (or non-200 answer) returned by the server. */
export class SoapFault extends Error {
  constructor(
    readonly method: string,
    readonly status: number,
    readonly faultString: string,
    readonly body: string,
  ) {
    super(`${method}: HTTP ${status}: ${faultString}`);
    this.name = 'SoapFault';
  }
}

/** Escapes text for use in XML element content or attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

/** Decodes the five predefined entities and numeric character references. */
export function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e] ?? '';
  });
}

/** Inner XML of every `<tag ...>...</tag>` (optionally namespace-prefixed); not for nested same-name tags. */
export function allTags(xml: string, tag: string): string[] {
  const re = new RegExp(`<(?:[\\w.-]+:)?${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${tag}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1] ?? '');
}

/** Unescaped text of the first `<tag>`, or undefined. */
export function firstTag(xml: string, tag: string): string | undefined {
  const inner = allTags(xml, tag)[0];
  return inner === undefined ? undefined : xmlUnescape(inner);
}

/** A managed object reference as it appears in XML: `<x type="T">value</x>`. */
export interface MoRef {
  type: string;
  value: string;
}

/** The `<tag type="T">value</tag>` reference in `xml`; throws when absent. */
function moRef(xml: string, tag: string): MoRef {
  const m = new RegExp(`<${tag}\\s+type="([^"]+)"\\s*>([^<]*)</${tag}>`).exec(xml);
  if (!m?.[1] || m[2] === undefined) throw new Error(`no ${tag} reference in ServiceContent`);
  return { type: xmlUnescape(m[1]), value: xmlUnescape(m[2]) };
}

/** XML for a reference parameter named `tag`. */
export function refXml(tag: string, ref: MoRef): string {
  return `<${tag} type="${xmlEscape(ref.type)}">${xmlEscape(ref.value)}</${tag}>`;
}

/** The ServiceContent references the harness uses. */
export interface ServiceRefs {
  sessionManager: MoRef;
  propertyCollector: MoRef;
  rootFolder: MoRef;
  viewManager: MoRef;
}

/** One object read by RawVimClient.retrieveAll: property path → raw inner XML of its `<val>`. */
export interface RawObject {
  moid: string;
  type: string;
  props: Record<string, string>;
}

/** A user session as listed by SessionManager. */
export interface UserSession {
  key: string;
  userName: string;
}

/** One SOAP conversation with its own session cookie. */
export class RawVimClient {
  private cookie: string | undefined;
  private refs: ServiceRefs | undefined;

  constructor(readonly url: string) {}

  /** Calls `method` with the parameter XML `params`; returns the response body or throws SoapFault. */
  async call(method: string, params: string): Promise<string> {
    const envelope =
      '<?xml version="1.0" encoding="UTF-8"?>' +
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
      `<${method} xmlns="urn:vim25">${params}</${method}></soapenv:Body></soapenv:Envelope>`;
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: 'urn:vim25/6.5',
    };
    if (this.cookie) headers.cookie = this.cookie;
    // reset: no keep-alive, so no idle socket outlives the test or the simulator.
    const res = await request(this.url, {
      method: 'POST',
      headers,
      body: envelope,
      dispatcher: agent,
      reset: true,
    });
    const body = await res.body.text();
    const setCookie = res.headers['set-cookie'];
    for (const c of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const m = /^\s*(vmware_soap_session=[^;]*)/.exec(c);
      if (m?.[1]) this.cookie = m[1];
    }
    if (res.statusCode !== 200 || /<(?:\w+:)?Fault>/.test(body)) {
      throw new SoapFault(method, res.statusCode, firstTag(body, 'faultstring') ?? body.slice(0, 200), body);
    }
    return body;
  }

  /** SessionManager and PropertyCollector references, read from RetrieveServiceContent once. */
  async serviceContent(): Promise<ServiceRefs> {
    if (!this.refs) {
      const xml = await this.call(
        'RetrieveServiceContent',
        refXml('_this', { type: 'ServiceInstance', value: 'ServiceInstance' }),
      );
      this.refs = {
        sessionManager: moRef(xml, 'sessionManager'),
        propertyCollector: moRef(xml, 'propertyCollector'),
        rootFolder: moRef(xml, 'rootFolder'),
        viewManager: moRef(xml, 'viewManager'),
      };
    }
    return this.refs;
  }

  /** Logs in, keeping the session cookie for later calls; returns the new session. */
  async login(userName: string, password: string): Promise<UserSession> {
    const { sessionManager } = await this.serviceContent();
    const xml = await this.call(
      'Login',
      `${refXml('_this', sessionManager)}<userName>${xmlEscape(userName)}</userName><password>${xmlEscape(password)}</password>`,
    );
    return { key: firstTag(xml, 'key') ?? '', userName: firstTag(xml, 'userName') ?? '' };
  }

  /** Ends this client's session. */
  async logout(): Promise<void> {
    const { sessionManager } = await this.serviceContent();
    await this.call('Logout', refXml('_this', sessionManager));
    this.cookie = undefined;
  }

  /** SessionManager.sessionList and currentSession (the caller's own session). */
  async sessions(): Promise<{ list: UserSession[]; current: UserSession | undefined }> {
    const { sessionManager, propertyCollector } = await this.serviceContent();
    const xml = await this.call(
      'RetrievePropertiesEx',
      refXml('_this', propertyCollector) +
        `<specSet><propSet><type>${xmlEscape(sessionManager.type)}</type><pathSet>sessionList</pathSet>` +
        '<pathSet>currentSession</pathSet></propSet>' +
        `<objectSet>${refXml('obj', sessionManager)}</objectSet></specSet><options/>`,
    );
    const session = (x: string): UserSession => ({
      key: firstTag(x, 'key') ?? '',
      userName: firstTag(x, 'userName') ?? '',
    });
    let list: UserSession[] = [];
    let current: UserSession | undefined;
    for (const prop of allTags(xml, 'propSet')) {
      const name = firstTag(prop, 'name');
      const val = /<val[^>]*>([\s\S]*)<\/val>/.exec(prop)?.[1] ?? '';
      if (name === 'currentSession') current = session(val);
      // An empty list is either absent or an empty ArrayOfUserSession.
      if (name === 'sessionList') list = allTags(val, 'UserSession').map(session);
    }
    return { list, current };
  }

  /** Ends another session by key (SessionManager.TerminateSession). */
  async terminate(key: string): Promise<void> {
    const { sessionManager } = await this.serviceContent();
    await this.call(
      'TerminateSession',
      `${refXml('_this', sessionManager)}<sessionId>${xmlEscape(key)}</sessionId>`,
    );
  }

  /**
   * Every object of `type` under the root folder with the raw `<val>` XML of `paths` (use firstTag /
   * xmlUnescape on it). Needs a logged-in client; the view is destroyed afterwards.
   */
  async retrieveAll(type: string, paths: readonly string[]): Promise<RawObject[]> {
    const { propertyCollector, rootFolder, viewManager } = await this.serviceContent();
    const viewXml = await this.call(
      'CreateContainerView',
      refXml('_this', viewManager) +
        refXml('container', rootFolder) +
        `<type>${xmlEscape(type)}</type><recursive>true</recursive>`,
    );
    const view: MoRef = { type: 'ContainerView', value: firstTag(viewXml, 'returnval') ?? '' };
    try {
      const xml = await this.call(
        'RetrievePropertiesEx',
        refXml('_this', propertyCollector) +
          `<specSet><propSet><type>${xmlEscape(type)}</type>` +
          paths.map((p) => `<pathSet>${xmlEscape(p)}</pathSet>`).join('') +
          `</propSet><objectSet>${refXml('obj', view)}<skip>true</skip>` +
          '<selectSet xsi:type="TraversalSpec"><name>v</name><type>ContainerView</type><path>view</path>' +
          '<skip>false</skip></selectSet></objectSet></specSet><options/>',
      );
      return allObjects(xml);
    } finally {
      await this.call('DestroyView', refXml('_this', view));
    }
  }
}

// <objects> holds no nested <objects>, but a <val> can nest same-name tags, so split on the outer ones.
function allObjects(xml: string): RawObject[] {
  return allTags(xml, 'objects').map((o) => {
    const obj = /<obj\s+type="([^"]+)"\s*>([^<]*)<\/obj>/.exec(o);
    const props: Record<string, string> = {};
    for (const m of o.matchAll(
      /<propSet>\s*<name>([^<]*)<\/name>\s*<val[^>]*?(?:\/>|>([\s\S]*?)<\/val>)\s*<\/propSet>/g,
    )) {
      props[xmlUnescape(m[1] ?? '')] = m[2] ?? '';
    }
    return { moid: xmlUnescape(obj?.[2] ?? ''), type: xmlUnescape(obj?.[1] ?? ''), props };
  });
}
