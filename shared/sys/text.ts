// Text files an operator writes on Windows: Windows PowerShell 5.1 writes UTF-16LE with a byte
// order mark (`>`, Out-File) or UTF-8 with one (Set-Content -Encoding UTF8); editors write plain
// UTF-8. Decoded by their byte order mark, so every reader of such a file takes all three.

import fs from 'node:fs';

/** The text of `bytes`: UTF-16LE or UTF-16BE when a byte order mark says so, else UTF-8 (a BOM dropped). */
export function decodeText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) {
    const swapped = Buffer.from(b.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = b.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function readTextFile(file: string): string {
  return decodeText(fs.readFileSync(file));
}
