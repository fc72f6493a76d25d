// The streaming List decoder (shared/kube/list-stream.ts): items handed over one by one whatever
// the chunking, strings holding braces, quotes and multi-byte characters, the list's metadata
// wherever it is, and a truncated response refused.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ListDecoder } from '../../../shared/kube/list-stream';

const items = [
  { metadata: { name: 'a', annotations: { tricky: '{"x":[1,2]} \\" ]} ü 日本' } }, spec: { podCIDRs: ['10.244.1.0/24'] } },
  { metadata: { name: 'b' }, status: { images: [{ names: ['x'], sizeBytes: 1 }], conditions: [] } },
  { metadata: { name: 'c\u0000"}' } },
];
const list = { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '42', continue: 'tok"en' }, items };

function decode(text: string, chunk: number): { got: unknown[]; meta: ReturnType<ListDecoder['end']> } {
  const got: unknown[] = [];
  const d = new ListDecoder((item) => got.push(item));
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  return { got, meta: d.end() };
}

test('items one by one and the metadata, at every chunk size (1 byte splits every multi-byte character)', () => {
  const text = JSON.stringify(list, null, 1);
  for (const size of [1, 2, 3, 7, 64, 1 << 20]) {
    const { got, meta } = decode(text, size);
    assert.equal(got, items, `chunks of ${size}`);
    assert.equal(meta, { resourceVersion: '42', continue: 'tok"en' });
  }
});

test('metadata after the items, an empty list, and a truncated response', () => {
  const after = `{"items":${JSON.stringify(items)},"metadata":{"resourceVersion":"7"},"kind":"NodeList"}`;
  assert.equal(decode(after, 5), { got: items, meta: { resourceVersion: '7' } });
  assert.equal(decode('{"kind":"NodeList","metadata":{"resourceVersion":"3"},"items":[]}', 4), { got: [], meta: { resourceVersion: '3' } });
  const text = JSON.stringify(list);
  assert.throws(() => decode(text.slice(0, text.length - 10), 9), /ended in the middle/);
});

test.run();
