// vSphere tags as collectors see them: plain data, apart from the REST session that reads them
// (rest/tagging.ts) and the source that caches and shares the reads (tag-source.ts).

/** A tag with the id of its category. */
export interface Tag {
  id: string;
  name: string;
  categoryId: string;
}

/** An object a tag is attached to: its vim25 type (VirtualMachine, HostSystem…) and moid. */
export interface AttachedObject {
  type: string;
  moid: string;
}

/** The objects one tag is attached to. */
export interface TagAttachments {
  tagId: string;
  objects: AttachedObject[];
}

/** Tag id → tag and category name. */
export type TagNames = ReadonlyMap<string, { tag: string; category: string }>;

/** The tags of one collection: every known tag's names and the objects each is attached to. */
export interface TagSnapshot {
  tags: TagNames;
  attachments: readonly TagAttachments[];
}

/** One collection's tag read: started by the first call, every later call gets the same answer. */
export type TagRead = () => Promise<TagSnapshot>;
