// GUID text <-> the 16 bytes of a Windows GUID struct (REFGUID arguments of computenetwork.dll).
// The struct is { uint32 Data1; uint16 Data2; uint16 Data3; uint8 Data4[8] } on a little-endian
// machine, so `11223344-5566-7788-99AA-BBCCDDEEFF00` is the bytes
// 44 33 22 11 66 55 88 77 99 AA BB CC DD EE FF 00 — not the text's hex in order (RFC 4122 order).
// Building the bytes from the parsed fields keeps that trap out of every caller.

export interface GuidFields {
  data1: number;
  data2: number;
  data3: number;
  data4: number[];
}

export const GUID_BYTES = 16;

// 8-4-4-4-12 hex digits, optionally in braces (the form StringFromGUID2 writes).
const GUID_TEXT = /^(\{)?([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})(\})?$/;

/** The fields of a GUID text, or undefined when the text is not a GUID. */
export function parseGuid(text: string): GuidFields | undefined {
  const m = GUID_TEXT.exec(text);
  if (!m || Boolean(m[1]) !== Boolean(m[7])) return undefined;
  const tail = `${m[5]}${m[6]}`;
  const data4: number[] = [];
  for (let i = 0; i < 16; i += 2) data4.push(parseInt(tail.slice(i, i + 2), 16));
  return { data1: parseInt(m[2]!, 16), data2: parseInt(m[3]!, 16), data3: parseInt(m[4]!, 16), data4 };
}

/** The struct's memory: Data1..Data3 little-endian, Data4 as is. */
export function guidFieldsToBytes(g: GuidFields): Buffer {
  const b = Buffer.alloc(GUID_BYTES);
  b.writeUInt32LE(g.data1, 0);
  b.writeUInt16LE(g.data2, 4);
  b.writeUInt16LE(g.data3, 6);
  for (let i = 0; i < 8; i++) b[8 + i] = g.data4[i]!;
  return b;
}

/** GUID text -> struct bytes; undefined when the text is not a GUID. */
export function guidToBytes(text: string): Buffer | undefined {
  const g = parseGuid(text);
  return g && guidFieldsToBytes(g);
}

/** Struct bytes -> upper-case text without braces, the form the service writes in documents. */
export function bytesToGuid(b: Uint8Array): string {
  if (b.length !== GUID_BYTES) throw new RangeError(`a GUID is ${GUID_BYTES} bytes, got ${b.length}`);
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
  const data4 = Array.from(view.subarray(8), (x) => hex(x, 2)).join('');
  return `${hex(view.readUInt32LE(0), 8)}-${hex(view.readUInt16LE(4), 4)}-${hex(view.readUInt16LE(6), 4)}-${data4.slice(0, 4)}-${data4.slice(4)}`;
}
