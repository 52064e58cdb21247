/** What the permission check needs of a file (fs.Stats has it). */
export interface FileOwnership {
  mode: number;
  uid: number;
  gid: number;
}

/** Who the exporter runs as: its uid and every group it holds (primary and supplementary). */
export interface ProcessIdentity {
  uid: number;
  gids: readonly number[];
}

/**
 * The permission bits of a password file that give it to anyone but the exporter (0: none).
 * Group read does not count when it is how the exporter itself reads the file: the file belongs to
 * another user and its group is one the exporter holds. That is what Kubernetes makes of a Secret
 * volume with fsGroup (root-owned, group fsGroup, 0400 turned into 0440, readable only inside the
 * pod) and what `root:exporter 0640` is on a host; dropping the bit would lock the exporter out.
 */
export function passwordFileExposure(file: FileOwnership, self: ProcessIdentity): number {
  const exposed = file.mode & 0o077;
  const readsThroughGroup = file.uid !== self.uid && self.gids.includes(file.gid);
  return readsThroughGroup ? exposed & ~0o040 : exposed;
}

/** The identity of this process, or undefined where the platform has none (Windows). */
export function currentIdentity(): ProcessIdentity | undefined {
  if (!process.getuid || !process.getgid) return undefined;
  return { uid: process.getuid(), gids: [process.getgid(), ...(process.getgroups?.() ?? [])] };
}
