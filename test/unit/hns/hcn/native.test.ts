// Writing koffi's native module out of the executable: once per content, safely under concurrency,
// and never trusting a file that only looks right.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadKoffi, materializeNative, nativeModuleFile } from '../../../../shared/hns/backends/hcn/native';

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-native-test-'));
let n = 0;
const scratch = () => path.join(ROOT, String(n++));
test.after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

const asset = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff));

test('the module lands in <root>/<first 16 hex of its sha256>/koffi.node with the exact bytes', () => {
  const root = scratch();
  const file = materializeNative(asset, root);
  const digest = createHash('sha256').update(asset).digest('hex').slice(0, 16);
  assert.is(file, path.join(root, digest, 'koffi.node'));
  assert.ok(fs.readFileSync(file).equals(asset));
  assert.equal(fs.readdirSync(path.dirname(file)), ['koffi.node'], 'no temporary file left behind');
});

test('a present, identical file is reused, not rewritten', () => {
  const root = scratch();
  const file = materializeNative(asset, root);
  const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000); // whole seconds: exact in every file system
  fs.utimesSync(file, old, old);
  assert.is(materializeNative(asset, root), file);
  assert.ok(Math.abs(fs.statSync(file).mtimeMs - old.getTime()) < 1, 'untouched');
});

test('a file of the right size but other content is replaced', () => {
  const root = scratch();
  const file = materializeNative(asset, root);
  const tampered = Buffer.from(asset);
  tampered[100] = tampered[100]! ^ 0xff;
  fs.writeFileSync(file, tampered);
  assert.is(materializeNative(asset, root), file);
  assert.ok(fs.readFileSync(file).equals(asset));
});

test('different content goes to a different folder', () => {
  const root = scratch();
  const other = Buffer.concat([asset, Buffer.from([1])]);
  assert.is.not(path.dirname(materializeNative(asset, root)), path.dirname(materializeNative(other, root)));
});

test('outside a single executable, koffi comes from node_modules and is loaded once', () => {
  const k = loadKoffi();
  assert.is(k, loadKoffi());
  assert.is(typeof k.load, 'function');
  assert.is(k.sizeof('char16_t'), 2);
});

test('the module is written beside the executable, in <bin_dir>/.cni-native', () => {
  const bin = scratch();
  fs.mkdirSync(bin, { recursive: true });
  const file = nativeModuleFile(asset, { execPath: path.join(bin, 'win-l2bridge.exe'), path });
  assert.ok(file.startsWith(path.join(bin, '.cni-native') + path.sep));
  assert.ok(fs.readFileSync(file).equals(asset));
});

test('an unwritable bin_dir is an error naming the folder and what to do: never a temp-folder fallback', () => {
  const root = scratch();
  fs.mkdirSync(root, { recursive: true });
  const notADir = path.join(root, 'bin'); // a file where the folder would be: mkdir fails, even for root
  fs.writeFileSync(notADir, '');
  const digest = createHash('sha256').update(asset).digest('hex').slice(0, 16);
  const inTemp = path.join(os.tmpdir(), 'cni-native', digest);
  const before = fs.existsSync(inTemp);
  try {
    nativeModuleFile(asset, { execPath: path.join(notADir, 'win-l2bridge.exe'), path });
    assert.unreachable('expected an error');
  } catch (err) {
    const msg = (err as Error).message;
    assert.match(msg, path.join(notADir, '.cni-native'));
    assert.match(msg, /administrators/i);
    assert.not.match(msg, path.join(os.tmpdir(), 'cni-native') + path.sep);
  }
  assert.is(fs.existsSync(inTemp), before, 'nothing written to the temp folder');
});

test('Windows paths: the folder is beside the .exe, never under %TEMP% or C:\\Windows\\Temp', () => {
  const seen: string[] = [];
  const fakeWrite = (_bytes: Uint8Array, root: string) => {
    seen.push(root);
    throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  };
  try {
    nativeModuleFile(asset, { execPath: 'C:\\k\\cni\\bin\\win-overlay.exe', path: path.win32, write: fakeWrite });
    assert.unreachable('expected an error');
  } catch (err) {
    assert.match((err as Error).message, 'C:\\k\\cni\\bin\\.cni-native');
  }
  assert.equal(seen, ['C:\\k\\cni\\bin\\.cni-native']);
});

test.run();
