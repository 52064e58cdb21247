import { unslice } from '../values.js';
import type { PrefixBindings } from './stream-spec.js';

// SOAP declares prefixes on one or two elements only, so SoapXmlParser resolves them itself
// rather than pay for a namespace-aware parser mode (saxes' xmlns mode cost ~10 % of a 10,000-VM scrape's CPU).

/** The XML Schema instance namespace, whose `type` attribute names a value's vim25 type. */
export const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

let versions = 0;
function nextVersion(): number {
  return ++versions;
}

/** Prefix bindings in scope while a document is read, with the reserved-prefix rules of Namespaces in XML. */
export class NamespaceScopes implements PrefixBindings {
  /** Prefix bindings, innermost last; each entry belongs to the element at `depth`. */
  private readonly scopes: { depth: number; prefixes: Map<string, string> }[] = [];
  /** The last prefix resolve() found bound, and its URI; dropped whenever the bindings change. */
  private resolved: { prefix: string; uri: string } | undefined;
  /**
   * Changes with the bindings (PrefixBindings). Drawn from one count for every parser: a reader that
   * outlives its parser (a call sent again after a new login) never sees an old version again.
   */
  version = nextVersion();

  /** Binds `key` (`xmlns` or `xmlns:p`) on the element at `depth`; returns why it is invalid, if it is. */
  declare(depth: number, key: string, uri: string): string | undefined {
    const prefix = key === 'xmlns' ? '' : key.slice(6);
    if (prefix === 'xmlns') return 'the xmlns prefix must not be declared';
    if (prefix === 'xml' ? uri !== XML_NS : uri === XML_NS || uri === XMLNS_NS)
      return `prefix ${prefix || '(default)'} bound to a reserved namespace`;
    if (prefix !== '' && uri === '') return `prefix ${prefix} declared with an empty namespace`;
    let scope = this.scopes[this.scopes.length - 1];
    if (!scope || scope.depth !== depth) this.scopes.push((scope = { depth, prefixes: new Map() }));
    scope.prefixes.set(prefix, uri);
    this.resolved = undefined;
    this.version = nextVersion();
    return undefined;
  }

  /** Drops the bindings of the element at `depth`, which just closed. */
  close(depth: number): void {
    const scope = this.scopes[this.scopes.length - 1];
    if (scope && scope.depth === depth) {
      this.scopes.pop();
      this.resolved = undefined;
      this.version = nextVersion();
    }
  }

  /** Whether `prefix` is bound here (PrefixBindings). */
  bound(prefix: string): boolean {
    return this.resolve(prefix) !== undefined;
  }

  /** The namespace URI bound to `prefix` here, or undefined when it is unbound. */
  resolve(prefix: string): string | undefined {
    if (prefix === 'xml') return XML_NS;
    // The same prefix is looked up on element after element (xsi:type on every series) while the
    // bindings stay as they are: the last answer holds until a declaration or a scope's end.
    const last = this.resolved;
    if (last !== undefined && last.prefix === prefix) return last.uri;
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const uri = this.scopes[i]!.prefixes.get(prefix);
      if (uri !== undefined) {
        // Copied: the prefix may be a slice of a chunk, which the memo would keep alive.
        this.resolved = { prefix: unslice(prefix), uri };
        return uri;
      }
    }
    return undefined;
  }
}

/** The local part of a qualified name (`vim25:HostSystem` -> `HostSystem`). */
export function localPart(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}
