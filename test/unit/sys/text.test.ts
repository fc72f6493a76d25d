// Files written by Windows PowerShell 5.1 and by editors: the same text whatever the encoding.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeText, readTextFile } from '../../../shared/sys/text';

const TEXT = '{"node": "win-1", "note": "é→世界😀"}';

test('UTF-16LE with a byte order mark (PowerShell 5.1 `>` and Out-File)', () => {
  assert.is(decodeText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')])), TEXT);
});

test('UTF-16BE with a byte order mark (Out-File -Encoding BigEndianUnicode)', () => {
  const le = Buffer.from(TEXT, 'utf16le');
  const be = Buffer.from(le).swap16();
  assert.is(decodeText(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), TEXT);
});

test('UTF-8 with a byte order mark (Set-Content -Encoding UTF8) and without', () => {
  assert.is(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT, 'utf8')])), TEXT);
  assert.is(decodeText(Buffer.from(TEXT, 'utf8')), TEXT);
  assert.is(decodeText(Buffer.alloc(0)), '');
});

test('readTextFile reads a PowerShell file from disk as the same JSON', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'text-')), 'agent.json');
  try {
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]));
    assert.equal(JSON.parse(readTextFile(file)), JSON.parse(TEXT));
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test.run();
