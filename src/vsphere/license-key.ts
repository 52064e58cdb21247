// Below this length a "last five characters" would be most of the key: none is shown then. Real
// keys are 29 characters (five groups of five).
const MIN_KEY_LENGTH = 20;

/** The last five characters of a licence key, as vSphere's own UI shows it; "" for a key too short to hide. */
export function keySuffix(key: string): string {
  const k = key.trim();
  return k.length >= MIN_KEY_LENGTH ? k.slice(-5) : '';
}

/** The id under which a licence's assets are counted: its key suffix and edition, as the licence families label it. */
export function assignmentId(suffix: string, edition: string): string {
  return JSON.stringify([suffix, edition]);
}
