// The ownership record's journal (shared/node/records.ts): a change is one appended line, the
// record is rewritten whole now and then, and whatever moment the agent dies at, a load gives
// what the agent had recorded (a torn last line is a change never acted on).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emptyRecord, type OwnedRoute, RecordStore } from '../../../shared/node/records';

function store(): { s: RecordStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-'));
  return { s: new RecordStore(path.join(dir, 'cbr0.json')), dir };
}

const route = (i: number, state: OwnedRoute['state'] = 'added'): OwnedRoute => ({ destinationPrefix: `10.244.${i}.0/24`, nextHop: `192.168.10.${i}`, interfaceIndex: 4, interfaceLuid: '0x6000000000000', state });
const prefixes = (r: { routes: OwnedRoute[] }) => r.routes.map((x) => `${x.destinationPrefix} ${x.state}`).sort();

test('changes are appended, not rewritten: the record file stays as it was, a load replays the journal', () => {
  const { s, dir } = store();
  const rec = emptyRecord('cbr0', 'host-gateway');
  rec.routes.push(route(2), route(3));
  s.save(rec);
  const whole = fs.readFileSync(s.file, 'utf8');
  const adding = route(4, 'adding');
  rec.routes.push(adding);
  s.change(rec, { put: { routes: [adding] } }, true);
  adding.state = 'added';
  rec.routes = rec.routes.filter((r) => r.destinationPrefix !== '10.244.2.0/24');
  s.change(rec, { put: { routes: [adding] }, drop: { routes: [route(2)] } }, true);
  assert.is(fs.readFileSync(s.file, 'utf8'), whole, 'the whole record is not rewritten for a change');
  assert.is(fs.readFileSync(s.journalFile, 'utf8').split('\n').filter(Boolean).length, 2);
  const loaded = new RecordStore(s.file).load('cbr0', 'host-gateway');
  assert.is(loaded.damaged, undefined);
  assert.equal(prefixes(loaded.record), ['10.244.3.0/24 added', '10.244.4.0/24 added']);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a torn last line is a change never acted on; a bad line before it is damage, named, with what came before kept', () => {
  const { s, dir } = store();
  const rec = emptyRecord('cbr0', 'host-gateway');
  rec.routes.push(route(2));
  s.save(rec);
  s.change(rec, { put: { routes: [route(3, 'adding')] } }, true);
  fs.appendFileSync(s.journalFile, '{"g":1,"put":{"routes":[{"destinationPrefix":"10.2');
  const torn = new RecordStore(s.file).load('cbr0', 'host-gateway');
  assert.is(torn.damaged, undefined, 'a torn last line is not damage');
  assert.equal(prefixes(torn.record), ['10.244.2.0/24 added', '10.244.3.0/24 adding']);
  fs.appendFileSync(s.journalFile, '\n{"g":1,"drop":{"routes":[]}}\n');
  const bad = new RecordStore(s.file).load('cbr0', 'host-gateway');
  assert.match(bad.damaged ?? '', /cbr0\.json\.journal: line 2 is not JSON/);
  assert.match(bad.from ?? '', /1 journal line/);
  assert.equal(prefixes(bad.record), ['10.244.2.0/24 added', '10.244.3.0/24 adding'], 'the lines before the bad one still count');
  const aside = bad.damaged ? new RecordStore(s.file).setAside() : undefined;
  assert.ok(aside && fs.existsSync(`${aside}.journal`) && !fs.existsSync(s.journalFile), 'the journal is set aside with its record');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a journal line of another generation never applies: a crash between a rewrite and the journal removal replays nothing old', () => {
  const { s, dir } = store();
  const rec = emptyRecord('cbr0', 'host-gateway');
  rec.routes.push(route(2));
  s.save(rec);
  s.change(rec, { put: { routes: [route(3)] } }, true);
  const oldJournal = fs.readFileSync(s.journalFile, 'utf8');
  // A full pass finds 10.244.3.0/24 gone from the node and rewrites the record without it ...
  rec.routes = [route(2)];
  s.save(rec);
  assert.not.ok(fs.existsSync(s.journalFile), 'a whole write removes the journal');
  // ... and dies before the journal's removal: its old line is still there.
  fs.writeFileSync(s.journalFile, oldJournal);
  assert.equal(prefixes(new RecordStore(s.file).load('cbr0', 'host-gateway').record), ['10.244.2.0/24 added']);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a long journal is folded into the record: the file never grows past about a thousand entries of changes', () => {
  const { s, dir } = store();
  const rec = emptyRecord('cbr0', 'host-gateway');
  s.save(rec);
  for (let i = 0; i < 1500; i++) {
    const r = route(i % 250 + 1, 'added');
    r.destinationPrefix = `10.${100 + Math.floor(i / 250)}.${i % 250}.0/24`;
    rec.routes.push(r);
    s.change(rec, { put: { routes: [r] } }, false);
  }
  const lines = fs.existsSync(s.journalFile) ? fs.readFileSync(s.journalFile, 'utf8').split('\n').filter(Boolean).length : 0;
  assert.ok(lines <= 1024, `${lines} journal lines`);
  const loaded = new RecordStore(s.file).load('cbr0', 'host-gateway').record;
  assert.is(loaded.routes.length, 1500);
  assert.ok((loaded.generation ?? 0) >= 2, 'folded at least once');
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
