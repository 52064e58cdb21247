// The target's vSphere tags: a session-scoped source over the Automation REST API (a second
// session beside SOAP), opened at the first read and ended at logout. The tag collector gets
// plain TagSnapshots from it through its context (ctx.tags), never the API.
import type { TaggingApi } from './rest/tagging.js';
import { isVsphereError } from './errors.js';
import type { Tag, TagNames, TagRead, TagSnapshot } from './tag-data.js';

/** Categories and tag names change rarely: read them again after this long (attachments: every collection). */
const TAG_NAMES_TTL_MS = 5 * 60_000;

/** The tagging calls the source makes. */
type TaggingReads = Pick<TaggingApi, 'categories' | 'tags' | 'attachments'>;

/** An open REST tagging session: its API and how to end it by `deadline` (ms since the epoch). */
export interface TaggingSession {
  tagging: TaggingReads;
  close(deadline?: number): Promise<void>;
}

/** What a collection asks for (injected by the scraper as ctx.tags). */
export interface TagSnapshotSource {
  /** This collection's read: at most one per collection, shared by all who ask in it. */
  collection(signal: AbortSignal): TagRead;
}

/** Joins tags with their category names; tags of an unknown category are left out. */
export function joinTagNames(
  categories: ReadonlyMap<string, string>,
  tags: readonly Pick<Tag, 'id' | 'name' | 'categoryId'>[],
): TagNames {
  const out = new Map<string, { tag: string; category: string }>();
  for (const t of tags) {
    const category = categories.get(t.categoryId);
    if (category !== undefined) out.set(t.id, { tag: t.name, category });
  }
  return out;
}

/** Tag names from the tagging API, read again only after `ttlMs` (or when forced). */
export class TagNameCache {
  private cache: { names: TagNames; at: number } | undefined;

  constructor(
    private readonly tagging: TaggingReads,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the next get() reads the API. */
  get stale(): boolean {
    return !this.cache || this.now() - this.cache.at >= this.ttlMs;
  }

  /** The cached names, reloaded (categories, then tags) when stale or `force`d. */
  async get(signal: AbortSignal, force = false): Promise<TagNames> {
    if (!force && this.cache && !this.stale) return this.cache.names;
    const categories = await this.tagging.categories(signal);
    const tags = await this.tagging.tags(signal);
    this.cache = { names: joinTagNames(categories, tags), at: this.now() };
    return this.cache.names;
  }
}

/** How often names are read again, and the clock (tests). */
interface TagSourceOptions {
  namesTtlMs?: number;
  now?: () => number;
}

/**
 * Tags of one target: names cached for `namesTtlMs`, attachments read at every collection. `open`
 * starts the REST session; it is called at the first read only, so a target whose tag collector
 * never runs opens none.
 */
export class TagSource implements TagSnapshotSource {
  private opened: { session: TaggingSession; names: TagNameCache } | undefined;
  private closed = false;

  constructor(
    private readonly open: () => TaggingSession,
    private readonly options: TagSourceOptions = {},
  ) {}

  collection(signal: AbortSignal): TagRead {
    let read: Promise<TagSnapshot> | undefined;
    return () => (read ??= this.read(signal));
  }

  /** Every tag's names and attachments, read now (names from the cache while fresh). */
  async read(signal: AbortSignal): Promise<TagSnapshot> {
    const { session, names } = this.session();
    const fresh = names.stale;
    let tags = await names.get(signal);
    try {
      return { tags, attachments: await session.tagging.attachments([...tags.keys()], signal) };
    } catch (e) {
      // A tag deleted since the names were cached can make vCenter refuse the whole list: reload once.
      if (fresh || !isVsphereError(e, 'VSPHERE_HTTP_STATUS') || (e.statusCode ?? 0) >= 500) throw e;
      tags = await names.get(signal, true);
      return { tags, attachments: await session.tagging.attachments([...tags.keys()], signal) };
    }
  }

  /** Ends the REST session, if one was opened, by `deadline`; later reads fail instead of opening another. */
  async close(deadline?: number): Promise<void> {
    this.closed = true;
    await this.opened?.session.close(deadline);
  }

  private session(): { session: TaggingSession; names: TagNameCache } {
    if (this.closed) throw new Error('the REST tagging session is closed');
    if (!this.opened) {
      const session = this.open();
      const ttl = this.options.namesTtlMs ?? TAG_NAMES_TTL_MS;
      this.opened = { session, names: new TagNameCache(session.tagging, ttl, this.options.now) };
    }
    return this.opened;
  }
}
