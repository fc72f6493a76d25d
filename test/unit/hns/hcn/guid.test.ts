import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bytesToGuid, guidToBytes, parseGuid } from '../../../../shared/hns/backends/hcn/guid';

const hexBytes = (b: Buffer | undefined) => b && [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ');

test('Data1..Data3 are little-endian, Data4 is raw: the Windows struct, not RFC 4122 order', () => {
  assert.is(hexBytes(guidToBytes('11223344-5566-7788-99AA-BBCCDDEEFF00')), '44 33 22 11 66 55 88 77 99 AA BB CC DD EE FF 00');
  // The RFC order (the text's hex in order) is what a naive hex decode would give.
  assert.is.not(hexBytes(guidToBytes('11223344-5566-7788-99AA-BBCCDDEEFF00')), '11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00');
});

test('fields are parsed as numbers', () => {
  assert.equal(parseGuid('{2CA473CC-84A9-481F-A1F7-CA49865A01A5}'), {
    data1: 0x2ca473cc,
    data2: 0x84a9,
    data3: 0x481f,
    data4: [0xa1, 0xf7, 0xca, 0x49, 0x86, 0x5a, 0x01, 0xa5],
  });
});

test('round trip: text -> bytes -> upper-case text, with or without braces, any case', () => {
  for (const g of ['2CA473CC-84A9-481F-A1F7-CA49865A01A5', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '0F0E0D0C-0B0A-0908-0706-050403020100']) {
    assert.is(bytesToGuid(guidToBytes(g)!), g);
    assert.is(bytesToGuid(guidToBytes(g.toLowerCase())!), g);
    assert.is(bytesToGuid(guidToBytes(`{${g}}`)!), g);
  }
});

test('every byte position survives the round trip (no two fields swapped)', () => {
  for (let i = 0; i < 16; i++) {
    const b = Buffer.alloc(16);
    b[i] = 0xa5;
    assert.equal([...guidToBytes(bytesToGuid(b))!], [...b], `byte ${i}`);
  }
});

test('malformed texts are rejected', () => {
  const bad = [
    '',
    'not-a-guid',
    '11223344-5566-7788-99AA-BBCCDDEEFF0', // one digit short
    '11223344-5566-7788-99AA-BBCCDDEEFF000', // one too many
    '1122334455667788-99AA-BBCCDDEEFF00',
    '11223344556677889 9AABBCCDDEEFF00',
    '11223344-5566-7788-99AABBCCDDEEFF00',
    '1122334-45566-7788-99AA-BBCCDDEEFF00', // dashes in the wrong places
    '11223344-5566-7788-99AA-BBCCDDEEFFGG', // not hex
    '{11223344-5566-7788-99AA-BBCCDDEEFF00', // unbalanced braces
    '11223344-5566-7788-99AA-BBCCDDEEFF00}',
    ' 11223344-5566-7788-99AA-BBCCDDEEFF00',
    '11223344-5566-7788-99AA-BBCCDDEEFF00\n',
    '0x223344-5566-7788-99AA-BBCCDDEEFF00',
  ];
  for (const t of bad) {
    assert.is(parseGuid(t), undefined, JSON.stringify(t));
    assert.is(guidToBytes(t), undefined, JSON.stringify(t));
  }
});

test('bytesToGuid wants exactly 16 bytes', () => {
  assert.throws(() => bytesToGuid(Buffer.alloc(15)), /16 bytes/);
});

test.run();
