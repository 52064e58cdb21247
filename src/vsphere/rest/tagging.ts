import { isVsphereError } from '../errors.js';
import type { AttachedObject, Tag, TagAttachments } from '../tag-data.js';
import type { RestSession } from './session.js';

const BASE = '/rest/com/vmware/cis/tagging';
// Per-id GETs in parallel, but few at a time: vCenter's vAPI endpoint is slower than vpxd.
const GET_CONCURRENCY = 4;
// Bounds one list-attached-objects-on-tags request body on vCenters with thousands of tags.
const ATTACH_CHUNK = 500;

/** The vSphere Automation tagging service (/rest/com/vmware/cis/tagging), as the tag source reads it. */
export class TaggingApi {
  constructor(private readonly session: RestSession) {}

  /** Every category: id → name. */
  async categories(signal: AbortSignal): Promise<Map<string, string>> {
    const ids = decodeIds(await this.session.call('GET', `${BASE}/category`, undefined, signal));
    const out = new Map<string, string>();
    for (const c of await this.getEach('category', ids, signal)) {
      const id = str(c, 'id');
      const name = str(c, 'name');
      if (id !== undefined && name !== undefined) out.set(id, name);
    }
    return out;
  }

  /** Every tag with its category id. */
  async tags(signal: AbortSignal): Promise<Tag[]> {
    const ids = decodeIds(await this.session.call('GET', `${BASE}/tag`, undefined, signal));
    return (await this.getEach('tag', ids, signal)).map(decodeTag).filter((t) => t !== undefined);
  }

  /** The objects each of `tagIds` is attached to, in bulk (list-attached-objects-on-tags). */
  async attachments(tagIds: readonly string[], signal: AbortSignal): Promise<TagAttachments[]> {
    const out: TagAttachments[] = [];
    for (let i = 0; i < tagIds.length; i += ATTACH_CHUNK) {
      const value = await this.session.call(
        'POST',
        `${BASE}/tag-association?~action=list-attached-objects-on-tags`,
        { tag_ids: tagIds.slice(i, i + ATTACH_CHUNK) },
        signal,
      );
      out.push(...decodeAttachments(value));
    }
    return out;
  }

  private async getEach(kind: 'category' | 'tag', ids: string[], signal: AbortSignal): Promise<unknown[]> {
    const out: unknown[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          out.push(await this.session.call('GET', `${BASE}/${kind}/id:${idSegment(id)}`, undefined, signal));
        } catch (e) {
          // Deleted between the list and the get: not an error of the collection.
          if (!(isVsphereError(e, 'VSPHERE_HTTP_STATUS') && e.statusCode === 404)) throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(GET_CONCURRENCY, ids.length) }, worker));
    return out;
  }
}

/** A vAPI id as a path segment: escaped, but with its `:` separators kept as govmomi sends them. */
export function idSegment(id: string): string {
  return encodeURIComponent(id).replace(/%3A/gi, ':');
}

/** A list of ids (strings); anything else in it is dropped. */
export function decodeIds(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/** A tag model (`id`, `name`, `category_id`); undefined when a field is missing. */
export function decodeTag(value: unknown): Tag | undefined {
  const id = str(value, 'id');
  const name = str(value, 'name');
  const categoryId = str(value, 'category_id');
  return id !== undefined && name !== undefined && categoryId !== undefined
    ? { id, name, categoryId }
    : undefined;
}

/** list-attached-objects-on-tags' `[{tag_id, object_ids: [{type, id}]}]`; malformed entries skipped. */
export function decodeAttachments(value: unknown): TagAttachments[] {
  if (!Array.isArray(value)) return [];
  const out: TagAttachments[] = [];
  for (const entry of value) {
    const tagId = str(entry, 'tag_id');
    if (tagId === undefined) continue;
    const raw = (entry as { object_ids?: unknown }).object_ids;
    const objects: AttachedObject[] = [];
    for (const o of Array.isArray(raw) ? raw : []) {
      const type = str(o, 'type');
      const moid = str(o, 'id');
      if (type !== undefined && moid !== undefined) objects.push({ type, moid });
    }
    out.push({ tagId, objects });
  }
  return out;
}

function str(obj: unknown, key: string): string | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
