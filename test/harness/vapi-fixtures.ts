/**
 * Test fixtures for tags and custom attributes: the test's own tiny vAPI (REST) client, independent
 * of the exporter's, and CustomFieldsManager calls through RawVimClient.
 */
import assert from 'node:assert/strict';
import { request } from 'undici';
import { firstTag, refXml, xmlEscape, type RawVimClient } from './vim-soap.js';

/** The test's own vAPI calls (not the exporter's client): login once, then JSON requests. */
export class VapiTestClient {
  private sid = '';
  constructor(readonly origin: string) {}

  async login(user: string, password: string): Promise<void> {
    const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    this.sid = (await this.call('POST', '/rest/com/vmware/cis/session', undefined, {
      authorization: auth,
    })) as string;
  }

  async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const res = await request(`${this.origin}${path}`, {
      method,
      headers: {
        ...(this.sid ? { 'vmware-api-session-id': this.sid } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      reset: true,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${method} ${path}: HTTP ${res.statusCode}`);
    return text ? (JSON.parse(text) as { value?: unknown }).value : undefined;
  }

  async category(name: string): Promise<string> {
    const spec = { name, description: '', cardinality: 'MULTIPLE', associable_types: [] };
    return (await this.call('POST', '/rest/com/vmware/cis/tagging/category', {
      create_spec: spec,
    })) as string;
  }

  async tag(categoryId: string, name: string): Promise<string> {
    const spec = { name, description: '', category_id: categoryId };
    return (await this.call('POST', '/rest/com/vmware/cis/tagging/tag', { create_spec: spec })) as string;
  }

  async attach(tagId: string, type: string, moid: string): Promise<void> {
    await this.call('POST', `/rest/com/vmware/cis/tagging/tag-association/id:${tagId}?~action=attach`, {
      object_id: { type, id: moid },
    });
  }
}

/** Statuses of a request straight to vcsim with a given vAPI session id. */
export async function statusWithSession(origin: string, sid: string): Promise<number> {
  const res = await request(`${origin}/rest/com/vmware/cis/tagging/category`, {
    headers: { 'vmware-api-session-id': sid },
    reset: true,
  });
  await res.body.dump();
  return res.statusCode;
}

/** CustomFieldsManager via SOAP (RawVimClient): define `name` for `moType`, returning its key. */
export async function addField(c: RawVimClient, cfm: string, name: string, moType: string): Promise<string> {
  const xml = await c.call(
    'AddCustomFieldDef',
    refXml('_this', { type: 'CustomFieldsManager', value: cfm }) +
      `<name>${xmlEscape(name)}</name><moType>${xmlEscape(moType)}</moType>`,
  );
  const key = firstTag(xml, 'key');
  assert.ok(key, 'AddCustomFieldDef returned a key');
  return key;
}

export async function setField(
  c: RawVimClient,
  cfm: string,
  type: string,
  moid: string,
  key: string,
  value: string,
) {
  await c.call(
    'SetField',
    refXml('_this', { type: 'CustomFieldsManager', value: cfm }) +
      refXml('entity', { type, value: moid }) +
      `<key>${key}</key><value>${xmlEscape(value)}</value>`,
  );
}
