// Steps several groups share.

import type { CaseContext, CallOptions } from '../lib/context';
import { describe, type Outcome } from '../lib/exec';
import { ensure, expectErr, fail, parseStdout } from '../lib/expect';
import type { CaseNode } from '../lib/node';

export type Attachment = { containerID: string; ifname: string };

/** A GC request as libcni sends it: both keys. `valid` undefined leaves both out. */
export function gcConf(ctx: CaseContext, valid: Attachment[] | null | undefined, extra: Record<string, unknown> = {}, network?: string): Record<string, unknown> {
  const c = ctx.conf('1.1.0', extra);
  if (network) c.name = network;
  if (valid !== undefined) {
    c['cni.dev/valid-attachments'] = valid;
    c['cni.dev/attachments'] = valid;
  }
  return c;
}

/** Exit 0 with the about text on stderr and nothing on stdout, or ERR(4) naming CNI_COMMAND; never a hang. */
export function aboutOrErr4(label: string, o: Outcome): void {
  if (o.timedOut) fail(`${label}: the plugin did not finish (it waits for something; killed after the deadline)`);
  if (o.code === 0) {
    ensure(o.stdout.trim() === '', `${label}: exit 0 must come with an empty stdout, got ${describe(o)}`);
    ensure(o.stderr.trim() !== '', `${label}: exit 0 without a command should print the about text on stderr, stderr was empty`);
    return;
  }
  expectErr(label, o, 4, { mentions: ['CNI_COMMAND'] });
}

/** The commands FAKE-IPAM saw. */
export function commands(calls: { command: string }[]): string[] {
  return calls.map((c) => c.command);
}

/** Fails unless FAKE-IPAM got exactly `want` (in order) since `from`. */
export function ipamSaw(ctx: CaseContext, label: string, from: number, want: string[], node: CaseNode = ctx.node): void {
  const got = commands(ctx.ipamCallsSince(from, node));
  ensure(JSON.stringify(got) === JSON.stringify(want), `${label}: FAKE-IPAM should have run ${want.length ? want.join(', ') : 'never'}, it ran ${got.length ? got.join(', ') : 'never'}`);
}

/** Fails unless FAKE-IPAM ran `command` at least once since `from`; returns those calls. */
export function ipamRan(ctx: CaseContext, label: string, from: number, command: string, node: CaseNode = ctx.node) {
  const calls = ctx.ipamCallsSince(from, node).filter((c) => c.command === command);
  ensure(calls.length > 0, `${label}: FAKE-IPAM ${command} was not run (it saw: ${commands(ctx.ipamCallsSince(from, node)).join(', ') || 'nothing'})`);
  return calls;
}

/** The bytes FAKE-IPAM got on stdin. */
export function stdinBytes(call: { stdin: { base64?: string; sha256: string } }): Buffer | undefined {
  return call.stdin.base64 !== undefined ? Buffer.from(call.stdin.base64, 'base64') : undefined;
}

/** ADD of the default attachment; then DEL, to be sure a case's own ADD can be undone. */
export async function addDefault(ctx: CaseContext, o: CallOptions = {}) {
  return ctx.add('ADD', o);
}

export function errorCode(o: Outcome): number | undefined {
  const p = parseStdout(o.stdout);
  return p.ok && p.value && typeof p.value === 'object' && typeof (p.value as { code?: unknown }).code === 'number' ? (p.value as { code: number }).code : undefined;
}

export const V = '1.1.0';
