// A probe run with plain node.exe under Wine: koffi's win32 module straight on the stand-in
// computenetwork.dll in system32, with none of the product's code. It does what the tests tell it
// to, right or deliberately wrong, so the tests can show that the stand-in's counters see a leak
// and that the GUID struct's byte order decides which object the service is asked about.
//
//   node.exe probe.js balanced <networkId>   enumerate + open/close a network, freeing every string
//   node.exe probe.js leak <networkId>       the same, but the string is never freed, the handle never closed
//   node.exe probe.js double-free            one string freed twice
//   node.exe probe.js open-namespace <hex>   HcnOpenNamespace with these 16 struct bytes as the REFGUID
//
// PROBE_KOFFI is the Windows path of koffi.node. Output: one JSON line on fd 1 (process.stdout
// is a socket that breaks on a pipe under Wine).

'use strict';
const fs = require('node:fs');
const path = require('node:path');

const mod = { exports: {} };
process.dlopen(mod, process.env.PROBE_KOFFI);
const koffi = mod.exports;

const system32 = path.win32.join(process.env.SystemRoot || 'C:\\Windows', 'System32');
const hcn = koffi.load(path.win32.join(system32, 'computenetwork.dll'));
const ole32 = koffi.load(path.win32.join(system32, 'ole32.dll'));
const out = () => koffi.out(koffi.pointer('void *'));
const CoTaskMemFree = ole32.func('__stdcall', 'CoTaskMemFree', 'void', ['void *']);
const HcnEnumerateNetworks = hcn.func('__stdcall', 'HcnEnumerateNetworks', 'int32_t', ['const char16_t *', out(), out()]);
const HcnOpenNetwork = hcn.func('__stdcall', 'HcnOpenNetwork', 'int32_t', ['const void *', out(), out()]);
const HcnCloseNetwork = hcn.func('__stdcall', 'HcnCloseNetwork', 'int32_t', ['void *']);
const HcnOpenNamespace = hcn.func('__stdcall', 'HcnOpenNamespace', 'int32_t', ['const void *', out(), out()]);
const HcnCloseNamespace = hcn.func('__stdcall', 'HcnCloseNamespace', 'int32_t', ['void *']);

/** The GUID struct's bytes for a GUID text, Data1..3 little-endian (written here independently of the product). */
function windowsBytes(text) {
  const hex = text.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}

function take(ptr, free) {
  if (!ptr) return null;
  const text = koffi.decode(ptr, 'char16_t', -1);
  if (free) CoTaskMemFree(ptr);
  return text;
}

const [mode, arg] = process.argv.slice(2);
const result = { mode };
if (mode === 'balanced' || mode === 'leak') {
  const free = mode === 'balanced';
  const list = [null];
  const rec = [null];
  result.enumerateHr = HcnEnumerateNetworks('{"SchemaVersion":{"Major":2,"Minor":0},"Flags":0}', list, rec);
  result.networks = JSON.parse(take(list[0], free));
  take(rec[0], true);
  const h = [null];
  const rec2 = [null];
  result.openHr = HcnOpenNetwork(windowsBytes(arg), h, rec2);
  take(rec2[0], true);
  result.handle = h[0] ? String(h[0]) : null;
  if (free && h[0]) result.closeHr = HcnCloseNetwork(h[0]);
} else if (mode === 'double-free') {
  const list = [null];
  const rec = [null];
  result.enumerateHr = HcnEnumerateNetworks('{"SchemaVersion":{"Major":2,"Minor":0},"Flags":0}', list, rec);
  take(rec[0], true);
  take(list[0], true);
  CoTaskMemFree(list[0]); // the second free of the same string
} else if (mode === 'open-namespace') {
  const h = [null];
  const rec = [null];
  result.hr = HcnOpenNamespace(Buffer.from(arg, 'hex'), h, rec);
  result.record = take(rec[0], true);
  if (h[0]) result.closeHr = HcnCloseNamespace(h[0]);
} else {
  result.error = `unknown mode ${mode}`;
  process.exitCode = 2;
}
fs.writeSync(1, `${JSON.stringify(result)}\n`);
