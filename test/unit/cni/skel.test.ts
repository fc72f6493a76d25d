import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conf, envFor, RESULT, runSkel } from '../../helpers/skel';
import { invocationBudgetMs } from '../../../shared/cni/skel';
import { SUPPORTED_VERSIONS } from '../../../shared/cni/versions';
import { CniError } from '../../../shared/cni/errors';

/** Asserts an error object on stdout with the code, a non-zero exit, and no handler run. */
function assertError(r: Awaited<ReturnType<typeof runSkel>>, code: number, msgIncludes?: string) {
  assert.is(r.code, 1, `exit status for ${r.stdout}`);
  assert.ok(r.json, `stdout is one JSON object: ${r.stdout}`);
  assert.is(r.json.code, code, r.stdout);
  assert.type(r.json.msg, 'string');
  assert.ok(r.json.msg.length > 0);
  if (msgIncludes) assert.ok(`${r.json.msg} ${r.json.details ?? ''}`.includes(msgIncludes), `"${msgIncludes}" in ${r.stdout}`);
}

test('VERSION answers without reading stdin, listing all seven versions', async () => {
  const r = await runSkel({ CNI_COMMAND: 'VERSION' }, () => {
    throw new Error('stdin must not be read');
  });
  assert.is(r.code, 0);
  assert.equal(r.json, { cniVersion: '1.1.0', supportedVersions: [...SUPPORTED_VERSIONS] });
  assert.equal(SUPPORTED_VERSIONS, ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
});

test('VERSION ignores invalid container variables (libcni probe env)', async () => {
  const r = await runSkel({ CNI_COMMAND: 'VERSION', CNI_CONTAINERID: '%%', CNI_IFNAME: 'x'.repeat(20), CNI_NETNS: 'dummy', CNI_PATH: 'dummy' }, 'garbage');
  assert.is(r.code, 0);
  assert.is(r.json.supportedVersions.length, 7);
});

test('no CNI_COMMAND, or an empty one: about text on stderr, empty stdout, exit 0', async () => {
  for (const env of [{}, { CNI_COMMAND: '' }]) {
    const r = await runSkel(env, '');
    assert.is(r.code, 0);
    assert.is(r.stdout, '');
    assert.match(r.stderr, 'CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0');
  }
});

test('unknown commands are code 4 and name the command; case and spaces matter', async () => {
  for (const cmd of ['FROB', 'add', ' ADD']) {
    const r = await runSkel(envFor(cmd), conf('1.1.0'));
    assertError(r, 4, cmd);
    assert.equal(r.calls, []);
  }
});

const REQUIRED: Record<string, string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
};

for (const [verb, vars] of Object.entries(REQUIRED)) {
  for (const v of vars) {
    test(`${verb} without ${v} (or with it empty) is code 4 naming it`, async () => {
      for (const value of [undefined, '']) {
        const r = await runSkel(envFor(verb, { [v]: value }), conf('1.1.0'));
        assertError(r, 4, v);
        assert.equal(r.calls, []);
      }
    });
  }
}

test('DEL does not need CNI_NETNS (the namespace may be gone)', async () => {
  const r = await runSkel(envFor('DEL', { CNI_NETNS: '' }), conf('1.1.0'));
  assert.is(r.code, 0);
  assert.equal(r.calls, ['DEL']);
  assert.is(r.stdout, '');
});

test('all missing variables are named together, in the reference order', async () => {
  const r = await runSkel(envFor('ADD', { CNI_NETNS: undefined, CNI_IFNAME: undefined, CNI_PATH: undefined }), conf('1.1.0'));
  assertError(r, 4, 'required env variables [CNI_NETNS,CNI_IFNAME,CNI_PATH] missing');
});

test('GC and STATUS take no container variables: junk in them is not validated', async () => {
  for (const verb of ['GC', 'STATUS']) {
    const r = await runSkel(envFor(verb, { CNI_CONTAINERID: '%%', CNI_IFNAME: 'x/y' }), conf('1.1.0', { 'cni.dev/valid-attachments': [] }));
    assert.is(r.code, 0, r.stdout);
    assert.equal(r.calls, [verb]);
  }
});

test('invalid container IDs are code 4, reported before anything about stdin', async () => {
  for (const id of ['-abc', '_abc', '.abc', 'ab/c', 'ab c', 'ab%c', 'ab\\c', '%%']) {
    const r = await runSkel(envFor('ADD', { CNI_CONTAINERID: id }), 'garbage');
    assertError(r, 4, 'CNI_CONTAINERID');
  }
  for (const id of ['a', 'Z9', 'a_b.c-d', 'f'.repeat(64)]) {
    const r = await runSkel(envFor('ADD', { CNI_CONTAINERID: id }), conf('1.1.0'));
    assert.is(r.code, 0, `${id}: ${r.stdout}`);
  }
});

test('interface names: at most 15 bytes, not . or .., no / : or whitespace', async () => {
  for (const name of ['x'.repeat(16), '.', '..', 'et/h0', 'eth:0', 'eth 0', 'eth\t0']) {
    const r = await runSkel(envFor('ADD', { CNI_IFNAME: name }), conf('1.1.0'));
    assertError(r, 4, 'CNI_IFNAME');
  }
  const ok = await runSkel(envFor('ADD', { CNI_IFNAME: 'x'.repeat(15) }), conf('1.1.0'));
  assert.is(ok.code, 0);
});

test('stdin that is not a JSON object is code 6', async () => {
  for (const stdin of ['', 'hello', '[]', '{"name":"n"', '{"name":"a"}{"name":"b"}', '\uFEFF{"name":"n"}', '42']) {
    const r = await runSkel(envFor('ADD'), stdin);
    assertError(r, 6);
    assert.equal(r.calls, []);
  }
});

test('stdin null, a missing or empty name: code 7; a non-string name: code 6', async () => {
  for (const stdin of ['null', '{}', '{"name":""}']) assertError(await runSkel(envFor('ADD'), stdin), 7, 'network name');
  assertError(await runSkel(envFor('ADD'), '{"name":42}'), 6);
});

test('names the spec forbids are code 7 and the message shows the name', async () => {
  for (const name of ['my net', 'net/1', '_net', '-net', 'ne:t']) {
    assertError(await runSkel(envFor('ADD'), JSON.stringify({ name, cniVersion: '1.1.0' })), 7, name);
  }
});

test('an unreadable stdin is code 5', async () => {
  const r = await runSkel(envFor('ADD'), () => {
    throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
  });
  assertError(r, 5, 'reading from stdin');
});

test('cniVersion: absent means 0.1.0; a number is code 6; unsupported ones are code 1 naming them', async () => {
  const none = await runSkel(envFor('ADD'), conf(undefined));
  assert.is(none.code, 0);
  assert.is(none.json.cniVersion, '0.1.0');
  assert.ok(none.json.ip4);
  assertError(await runSkel(envFor('ADD'), JSON.stringify({ name: 'n', cniVersion: 1 })), 6, 'cniVersion');
  for (const v of ['0.5.0', '1.0', 'garbage', '2.0.0']) {
    const r = await runSkel(envFor('ADD'), conf(v));
    assertError(r, 1, `"${v}"`);
    assert.equal(r.calls, []);
    assert.not.ok('cniVersion' in r.json, 'an error for an unsupported version does not claim that version');
  }
});

test('ADD answers in exactly the request version, for every version', async () => {
  for (const v of SUPPORTED_VERSIONS) {
    const r = await runSkel(envFor('ADD'), conf(v));
    assert.is(r.code, 0, r.stdout);
    assert.is(r.json.cniVersion, v);
    if (v === '0.1.0' || v === '0.2.0') assert.equal(r.json.ip4, { ip: '10.244.3.17/24', gateway: '10.244.3.2', routes: [{ dst: '0.0.0.0/0', gw: '10.244.3.2' }] });
    else if (v.startsWith('0.')) assert.equal(r.json.ips[0], { version: '4', address: '10.244.3.17/24', gateway: '10.244.3.2', interface: 0 });
    else assert.equal(r.json.ips, RESULT.ips);
  }
});

test('DEL works at every version; CHECK needs 0.4.0, GC and STATUS 1.1.0 (code 1 below)', async () => {
  for (const v of SUPPORTED_VERSIONS) {
    const del = await runSkel(envFor('DEL'), conf(v));
    assert.is(del.code, 0);
    assert.is(del.stdout, '');
    const check = await runSkel(envFor('CHECK'), conf(v));
    if (['0.4.0', '1.0.0', '1.1.0'].includes(v)) assert.is(check.code, 0);
    else assertError(check, 1, 'does not allow CHECK');
    for (const verb of ['GC', 'STATUS']) {
      const r = await runSkel(envFor(verb), conf(v));
      if (v === '1.1.0') assert.is(r.code, 0, r.stdout);
      else assertError(r, 1, `does not allow ${verb}`);
    }
  }
  assertError(await runSkel(envFor('CHECK'), conf(undefined)), 1, 'does not allow CHECK');
});

test('CHECK with a cniVersion that is not a version is code 6', async () => {
  assertError(await runSkel(envFor('CHECK'), conf('x.y')), 6);
  assertError(await runSkel(envFor('GC'), conf('garbage')), 6);
});

test('errors of a known request version carry it; handler errors keep their code; untyped ones are 999', async () => {
  const typed = await runSkel(envFor('ADD'), conf('1.0.0'), { add: async () => { throw new CniError(11, 'busy', 'try later'); } });
  assertError(typed, 11, 'busy');
  assert.is(typed.json.cniVersion, '1.0.0');
  assert.is(typed.json.details, 'try later');
  const untyped = await runSkel(envFor('DEL'), conf('1.1.0'), { del: async () => { throw new Error('boom'); } });
  assertError(untyped, 999, 'boom');
  assert.not.match(untyped.stdout, 'at ', 'no stack trace on stdout');
});

test('DEL, CHECK, GC and STATUS print nothing on success', async () => {
  for (const verb of ['DEL', 'CHECK', 'GC', 'STATUS']) {
    const r = await runSkel(envFor(verb), conf('1.1.0'));
    assert.is(r.code, 0);
    assert.is(r.stdout, '');
  }
});

test('CRLF, surrounding whitespace and unknown keys in stdin are fine', async () => {
  const r = await runSkel(envFor('ADD'), `\r\n  {\r\n "name": "testnet",\r\n "cniVersion": "1.1.0", "foo": {"x": 1}, "cni.dev/x": 1 }\r\n  `);
  assert.is(r.code, 0, r.stdout);
});

test('a duplicate key: the last value wins, as in Go', async () => {
  const r = await runSkel(envFor('ADD'), '{"name":"bad name","name":"good","cniVersion":"1.1.0"}');
  assert.is(r.code, 0, r.stdout);
});

test('deeply nested JSON does not crash the plugin', async () => {
  const deep = '['.repeat(100000) + ']'.repeat(100000);
  const r = await runSkel(envFor('ADD'), `{"name":"n","cniVersion":"1.1.0","junk":${deep}}`);
  assert.ok(r.code === 0 || r.json?.code === 6, r.stdout.slice(0, 200));
});

test('an invocation that outlives its budget answers 11 (try again later) with cniVersion, whatever it waits for', async () => {
  const r = await runSkel(envFor('ADD'), conf('1.0.0'), { add: () => new Promise(() => undefined) }, 50);
  assertError(r, 11, 'did not finish within');
  assert.is(r.json.cniVersion, '1.0.0');
});

test('the budget is the conf\'s HNS timeout plus a margin', () => {
  assert.is(invocationBudgetMs({}), 60_000);
  assert.is(invocationBudgetMs({ hnsTimeoutSeconds: 5 }), 35_000);
  assert.is(invocationBudgetMs({ hnsTimeoutSeconds: 'x' }), 60_000);
});

test('a JSON error names where, never what: stdin may hold secrets', async () => {
  const r = await runSkel(envFor('ADD'), '{"cniVersion":"1.0.0","name":"cbr0","args":{"token":"hunter2-SECRET" oops}}');
  assertError(r, 6, 'invalid JSON');
  assert.not.match(r.stdout + r.stderr, 'hunter2');
});

test('a conf nested past 64 levels is code 6, not a stack overflow', async () => {
  const deep = `{"cniVersion":"1.0.0","name":"cbr0","type":"x","args":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  assertError(await runSkel(envFor('ADD'), deep), 6, 'nested');
});

test('error objects carry the conf\'s cniVersion once it is read; an untyped error\'s stack stays out of stdout and stderr', async () => {
  const r = await runSkel(envFor('ADD'), conf('0.4.0'), { add: async () => { throw new TypeError('boom'); } });
  assertError(r, 999, 'boom');
  assert.is(r.json.cniVersion, '0.4.0');
  assert.not.match(r.stderr, 'at ');
});

test('every error object carries the request\'s cniVersion once stdin is parsed, whatever fails; none without a version we speak', async () => {
  const cases: [NodeJS.ProcessEnv, string, number][] = [
    [envFor('ADD', { CNI_CONTAINERID: 'ab/c' }), conf('1.0.0'), 4],
    [envFor('ADD', { CNI_NETNS: '' }), conf('0.4.0'), 4],
    [envFor('ADD'), JSON.stringify({ cniVersion: '1.1.0', name: { a: 1 } }), 6],
    [envFor('ADD'), JSON.stringify({ cniVersion: '0.3.1', name: 'my net' }), 7],
    [envFor('ADD'), JSON.stringify({ CNIVersion: '1.0.0' }), 7],
    [envFor('FROB'), conf('1.1.0'), 4],
    [envFor('CHECK'), conf('0.3.0'), 1],
    [envFor('ADD'), JSON.stringify({ cniVersion: '1.0.0', name: 'n', deep: JSON.parse('['.repeat(70) + ']'.repeat(70)) }), 6],
  ];
  for (const [env, stdin, code] of cases) {
    const r = await runSkel(env, stdin);
    assertError(r, code);
    assert.is(r.json.cniVersion, (JSON.parse(stdin) as { cniVersion?: string; CNIVersion?: string }).cniVersion ?? (JSON.parse(stdin) as { CNIVersion?: string }).CNIVersion, stdin);
  }
  // No cniVersion: the default, 0.1.0, as for the verbs.
  assert.is((await runSkel(envFor('ADD'), '{"name":""}')).json.cniVersion, '0.1.0');
  // Not JSON, or a version we do not speak: nothing to carry.
  assert.is((await runSkel(envFor('ADD'), '{"cniVersion":"1.0.0",')).json.cniVersion, undefined);
  assert.is((await runSkel(envFor('ADD'), conf('2.0.0'))).json.cniVersion, undefined);
});

test.run();
