import type { Collection } from '../../src/scrape/collection.js';

/** The exposition text of a collection, whether it holds its text or only its gzip. */
export async function collectionText(c: Collection): Promise<Buffer> {
  if (!c.plain) return Buffer.concat(c.body);
  return Buffer.concat((await (await c.plain()).toArray()) as Buffer[]);
}
