// Address parsing and formatting: IPv4 by hand (start-up cost), IPv6 through ipaddr.js; both must
// accept exactly what ipaddr.js's strict checks accept, and round-trip.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { formatIp, parseIp } from '../../../shared/net/ip';

const v4Text = fc.oneof(
  fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((p) => p.join('.')),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.map((x, i) => (i === 1 ? `0${x}` : String(x))).join('.')),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '0x1.2.3.4', '1..3.4', '255.255.255.255', '0.0.0.0'),
);

test('IPv4: accepted exactly when ipaddr.js\'s four-part decimal check accepts, with the same value', () => {
  fc.assert(fc.property(v4Text, (text) => {
    if (text.includes(':')) return;
    const ours = parseIp(text);
    const theirs = ipaddr.IPv4.isValidFourPartDecimal(text);
    assert.is(!!ours, theirs, text);
    if (ours) assert.is(formatIp(ours), ipaddr.IPv4.parse(text).toString(), text);
  }), { numRuns: 2000 });
});

test('IPv4 and IPv6 round-trip through format and parse', () => {
  fc.assert(fc.property(fc.ipV4(), (text) => assert.is(formatIp(parseIp(text)!), text)), { numRuns: 500 });
  fc.assert(fc.property(fc.ipV6(), (text) => {
    const ip = parseIp(text);
    if (!ip) return; // fast-check also makes embedded-IPv4 forms ipaddr.js's strict check refuses
    assert.equal(parseIp(formatIp(ip)), ip);
  }), { numRuns: 500 });
});

test.run();
