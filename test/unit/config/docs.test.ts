// The plugin READMEs document every key the schemas accept, with the schemas' own words.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

test('every plugin README has the key tables the schemas generate (node scripts/docs.mjs)', async () => {
  const { renderReadme, PLUGIN_DOCS } = await import('../../../scripts/docs.mjs');
  for (const plugin of Object.keys(PLUGIN_DOCS)) {
    const text = fs.readFileSync(path.join(ROOT, 'plugins', plugin, 'README.md'), 'utf8');
    assert.is(renderReadme(plugin, text), text, `plugins/${plugin}/README.md is out of date: run node scripts/docs.mjs`);
  }
});

test('every key of every plugin schema appears in its README', async () => {
  const { PLUGIN_DOCS } = await import('../../../scripts/docs.mjs');
  const netconf = JSON.parse(fs.readFileSync(path.join(ROOT, 'shared/config/netconf.schema.json'), 'utf8'));
  for (const [plugin, doc] of Object.entries(PLUGIN_DOCS) as [string, { schema: string }][]) {
    const own = JSON.parse(fs.readFileSync(path.join(ROOT, doc.schema), 'utf8'));
    const text = fs.readFileSync(path.join(ROOT, 'plugins', plugin, 'README.md'), 'utf8');
    for (const key of [...Object.keys(netconf.properties), ...Object.keys(own.properties ?? {})]) {
      assert.ok(text.includes(`| \`${key}\` |`), `${plugin}: key ${key} undocumented`);
    }
  }
});

test.run();
