import { describe } from '../vsphere/session.js';

/**
 * Longest error text in `vsphere_last_error_info` and on the status page: room for the longest
 * message the exporter writes (a TLS failure naming the certificate and the ca_file) while a huge
 * fault string from vCenter still cannot bloat every scrape.
 */
export const MAX_ERROR_TEXT = 600;

/** `text` cut at a word boundary with an ellipsis when longer than `max` characters; whole otherwise. */
export function clipText(text: string, max = MAX_ERROR_TEXT): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = chars.slice(0, max - 1).join('');
  const space = head.search(/\s\S*$/);
  // A single "word" longer than half the room (a URL, a base64 blob) is cut where it is.
  const cut = space >= max / 2 ? head.slice(0, space) : head;
  return `${cut.replace(/[\s,;:.]+$/, '')}…`;
}

/** The message of `error` as reported in metrics and on the status page. */
export function errorText(error: unknown): string {
  return clipText(describe(error).message);
}
