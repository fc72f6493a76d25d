// A List response decoded as it arrives: each element of the top-level "items" array is parsed on
// its own and handed over, and the bytes before it are let go, so a list of 5,000 real Nodes
// (80+ MiB) is never one string nor one array of objects. kube-apiserver's watch cache ignores
// `limit` for `resourceVersion=0` lists (client-go's reflector.go says so where it chooses the
// page size), so even a paginated client can receive the whole list as one response.
//
// The scanner only follows JSON's structure (strings, escapes, braces, brackets): every structural
// character is ASCII and every byte of a UTF-8 multi-byte sequence is >= 0x80, so it works on the
// raw bytes and decodes only whole items. The list's own members ("metadata" with its
// resourceVersion and continue token) are small and parsed whole.

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export class ListDecoder {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside the top-level "items" array. */
  private inItems = false;
  /** The last string seen at depth 1 (a member name once a ':' follows). */
  private key = '';
  private keyParts: Buffer[] | undefined;
  private keyStart = 0;
  /** The value being captured: an item (depth 2) or the list's metadata (depth 1). */
  private capture: { kind: 'item' | 'metadata'; parts: Buffer[]; start: number } | undefined;
  private metaText = '';
  items = 0;

  constructor(private readonly onItem: (item: unknown) => void) {}

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    if (this.capture) this.capture.start = 0;
    while (i < n) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.keyParts) {
            this.keyParts.push(chunk.subarray(this.keyStart, i));
            this.key = Buffer.concat(this.keyParts).toString('utf8');
            this.keyParts = undefined;
          }
        }
        i++;
        continue;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && !this.capture) {
          this.keyParts = [];
          this.keyStart = i + 1;
        }
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (this.depth === 1 && c === OPEN_ARRAY && this.key === 'items') this.inItems = true;
        else if (this.depth === 2 && this.inItems && c === OPEN_OBJECT) this.capture = { kind: 'item', parts: [], start: i };
        else if (this.depth === 1 && c === OPEN_OBJECT && this.key === 'metadata') this.capture = { kind: 'metadata', parts: [], start: i };
        this.depth++;
      } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.depth--;
        const cap = this.capture;
        if (cap && ((cap.kind === 'item' && this.depth === 2) || (cap.kind === 'metadata' && this.depth === 1))) {
          cap.parts.push(chunk.subarray(cap.start, i + 1));
          const text = Buffer.concat(cap.parts).toString('utf8');
          this.capture = undefined;
          if (cap.kind === 'metadata') this.metaText = text;
          else {
            this.items++;
            this.onItem(JSON.parse(text));
          }
        } else if (this.depth === 1 && this.inItems && c === CLOSE_ARRAY) this.inItems = false;
      }
      i++;
    }
    // What is left of a value that goes on in the next chunk (a copy: the chunk itself is let go).
    if (this.capture) this.capture.parts.push(Buffer.from(chunk.subarray(this.capture.start)));
    if (this.keyParts) {
      this.keyParts.push(Buffer.from(chunk.subarray(this.keyStart)));
      this.keyStart = 0;
    }
  }

  /** The list's metadata, once the whole response has been pushed; throws on a truncated response. */
  end(): ListMeta {
    if (this.depth !== 0 || this.inString) throw new Error('the list response ended in the middle of its JSON');
    const meta = (this.metaText ? JSON.parse(this.metaText) : {}) as { resourceVersion?: string; continue?: string };
    return { resourceVersion: meta.resourceVersion ?? '', ...(meta.continue ? { continue: meta.continue } : {}) };
  }
}
