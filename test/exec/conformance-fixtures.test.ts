// The conformance harness catches what it claims to: each broken fixture (conformance/fixtures/)
// fails the cases meant to catch it, and the same cases pass against the real plugin it wraps.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { selectCases } from '../../conformance/cases/index';
import { FIXTURES, fixtureProfile, WRAPPED } from '../../conformance/fixtures/catalogue';
import { formatLine, runPlugin } from '../../conformance/lib/runner';

const options = { jobs: 2, caseTimeoutMs: 120_000, print: () => undefined, keep: false };

test('the sampled cases pass against the real plugin the fixtures wrap', async () => {
  const ids = [...new Set(FIXTURES.flatMap((f) => f.caughtBy))].sort();
  const run = await runPlugin(WRAPPED, selectCases(ids), options);
  const notPassing = run.results.filter((r) => r.status !== 'pass');
  assert.is(notPassing.length, 0, notPassing.map((r) => formatLine(WRAPPED, r)).join('\n'));
});

for (const f of FIXTURES) {
  test(`fixture ${f.file} (${f.breaks}) fails ${f.caughtBy.join(', ')}`, async () => {
    const profile = fixtureProfile(f);
    const run = await runPlugin(profile, selectCases(f.caughtBy), options);
    assert.is(run.results.length, f.caughtBy.length);
    const missed = run.results.filter((r) => r.status !== 'fail');
    assert.is(missed.length, 0, `not caught: ${missed.map((r) => formatLine(profile, r)).join('\n')}`);
    // A harness error is not a catch: the case must have found the breakage itself.
    const errors = run.results.filter((r) => r.detail.startsWith('harness error'));
    assert.is(errors.length, 0, errors.map((r) => formatLine(profile, r)).join('\n'));
  });
}

test.run();
