// The OS build the first log line states, and the HNS version cached under it (pain point 21).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { osBuild } from '../../../shared/sys/osbuild';
import { firstLineFields, hostVersions, rememberHnsVersion } from '../../../shared/hns/version-cache';
import { Logger } from '../../../shared/log/logger';

test('Windows: major.minor.build from os.release() plus the update revision from the registry', () => {
  assert.is(osBuild({ env: {}, platform: 'win32', readUbr: () => 2849 }), `${os.release()}.2849`);
});

test('Windows: an unreadable update revision is said, not guessed', () => {
  const text = osBuild({ env: {}, platform: 'win32', readUbr: () => { throw new Error('RegGetValueW failed with Win32 error 2'); } });
  assert.is(text, `${os.release()} (update revision not readable: RegGetValueW failed with Win32 error 2)`);
});

test('emulator: the kernel, and the Windows build and HNS knob the emulator stands for', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osbuild-'));
  try {
    const env = { CNI_HNS_EMULATOR_DIR: dir };
    assert.is(osBuild({ env, platform: 'linux' }), `${os.type()} ${os.release()}; HNS emulator ws2022 (Windows Server 2022, build 20348)`);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ profile: 'ws2019', hnsVersion: { Major: 9, Minor: 4 } }));
    assert.match(osBuild({ env, platform: 'linux' }), /HNS emulator ws2019 \(.*build 17763\.8146, hnsVersion knob 9\.4\)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the cached HNS version holds only for the OS build it was learned under', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osbuild-'));
  try {
    const env = { CNI_STATE_DIR: dir };
    const before = hostVersions(env, 'linux', '10.0.20348.2849');
    assert.is(before.hnsVersion, undefined);
    assert.match(firstLineFields(before).hnsVersion, 'not yet known');
    assert.ok(rememberHnsVersion(before, { Major: 13, Minor: 3 }));
    assert.is(hostVersions(env, 'linux', '10.0.20348.2849').hnsVersion, '13.3');
    // A cumulative update: the update revision changes, the version is asked again.
    assert.is(hostVersions(env, 'linux', '10.0.20348.2966').hnsVersion, undefined);
    fs.writeFileSync(path.join(dir, 'hns-version.json'), '{broken');
    assert.is(hostVersions(env, 'linux', '10.0.20348.2849').hnsVersion, undefined, 'a damaged cache is a version not yet known');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Logger.once: fields on the next line only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'osbuild-'));
  try {
    const file = path.join(dir, 'cni.log');
    const log = new Logger({ file }, { plugin: 'p' });
    log.once({ osBuild: 'b', hnsVersion: '13.3' });
    log.event('first');
    log.event('second');
    log.close();
    const [a, b] = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.is(a.osBuild, 'b');
    assert.is(a.hnsVersion, '13.3');
    assert.is(b.osBuild, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
