// Kill points with strace's fault injection: no hook in the product.
//
// How strace counts (strace(1), "Accounting of syscalls that are subject to injection is done
// per syscall and per tracee", checked with strace 6.1): `-e inject=SET:signal=SIGKILL:when=N`
// fires on the N-th call OF EACH SYSCALL of SET, counted separately in EACH THREAD (every thread
// is its own tracee under -f, and so is every child process, e.g. host-local and its Go threads).
// So `when=N` over a set is not "the N-th state-changing call". A kill point is therefore one
// (syscall, N) pair injected alone, `-e inject=<syscall>:signal=SIGKILL:when=N`, where N is the
// call's index among that syscall's calls in its own thread. The points are found from one run
// traced without injection (-f, every line with its thread ID, process creation traced to tell
// the plugin's threads from a child's): every state-changing call of the plugin's process. The
// plugin does all its file work on its main thread (Node's synchronous fs calls), so each call is
// reachable. Left out: writes to pipes, sockets and eventfds (they change no file, and libuv's
// wake-ups make their number vary), and the calls of host-local's own process (its Go threads
// make per-thread counts unstable; it is Debian's code, not ours). A kill of the plugin while
// host-local runs is what the plugin's next call after the delegation covers: host-local finishes
// on its own, then the plugin dies, so its address is held by a pod that has no endpoint.
//
// The killed run is traced too (`-o <file> -y`, only the point's syscall and process creation, not
// `-o /dev/null`): the call the plugin died on is the when-th one of its thread that never
// returned, and its signature (syscall, the paths it names with temp-file suffixes, GUIDs and the
// node's directory taken out) and occurrence must be the point's. libuv's writes to its pipes and
// eventfds shift the count of `write` by one or two between runs; the run is then repeated with
// the count corrected (runKilled).
//
// SIGKILL is delivered on entry to the call, so the call never happens: the files are exactly as
// they were after the previous call. A kill cannot tear a write this way (write() of a regular
// file is done whole or not at all for SIGKILL); torn and half-written files are covered by the
// damaged-state suite (damaged.test.ts), which truncates, empties and garbles them.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './lib';

/** Every call that changes a file or a directory; `write` also covers the HNS emulator's calls (it runs in-process on files). */
export const STATE_SYSCALLS = ['write', 'pwrite64', 'writev', 'pwritev', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat', 'rmdir', 'mkdir', 'mkdirat', 'fsync', 'fdatasync', 'ftruncate', 'truncate'];
/** Also traced (not injected) in the reference run, to tell the plugin's threads from the IPAM plugin's. */
const PROCESS_SYSCALLS = ['execve', 'clone', 'clone3', 'fork', 'vfork'];

export const STRACE = '/usr/bin/strace';

export interface TraceEvent {
  tid: number;
  syscall: string;
  /** 1-based index of this syscall in its thread: the `when=` that reaches it. */
  nth: number;
  /** The executable of the event's process (basename). */
  exe: string;
  /** The call with what varies from run to run (temp-file suffixes, GUIDs, the node's directory, data) taken out. */
  signature: string;
  /** How many calls of the process had this signature up to this one: with it, the call's identity across runs. */
  occurrence: number;
  /** The call as strace printed it (fds decoded with -y), shortened. */
  text: string;
  /** The call never returned: the process was killed on it. */
  killed: boolean;
}

export interface KillPoint extends TraceEvent {
  /** Position among the reference run's state-changing calls (1-based). */
  seq: number;
}

const STRACE_BASE = ['-f', '-qq', '-y', '-s', '40'];

/** Runs `file` under strace without injection; returns the result and the state-changing calls in order. */
export async function traceRun(file: string, env: NodeJS.ProcessEnv, stdin: string, hide: string[] = []): Promise<{ result: RunResult; events: TraceEvent[] }> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-strace-'));
  const log = path.join(out, 'trace');
  try {
    const result = await run(STRACE, env, stdin, { args: [...STRACE_BASE, '-o', log, '-e', `trace=${[...STATE_SYSCALLS, ...PROCESS_SYSCALLS].join(',')}`, file] });
    return { result, events: parseTrace(fs.readFileSync(log, 'utf8'), path.basename(file), hide) };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const LINE = /^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$/;
const CLONES = /^(clone|clone3|fork|vfork)$/;

/** What stays the same from run to run of one call: the syscall and the paths it names, normalized. */
export function signatureOf(syscall: string, args: string, hide: string[]): string {
  let a = args;
  for (const h of hide) a = a.split(h).join('~');
  a = a
    .replace(/\.\d+(?:-\d+-[0-9a-f]{8})?\.[0-9a-z]+\.tmp\b/g, '.TMP')
    .replace(/[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/g, 'GUID')
    .replace(/\b\d{12}\./g, 'SEQ.')
    // hnsctl selftest's run ID (pid, start, time: tools/hnsctl/selftest.ts) names its claim's marker.
    .replace(/cni-selftest\.\d+(?:-\d+-[0-9a-f]{8})?\.[0-9a-z]+/g, 'cni-selftest.RUN')
    .replace(/(pipe|socket|anon_inode):\[?[^>\]]*\]?/g, '$1');
  if (/^(write|pwrite64|writev|pwritev|fsync|fdatasync|ftruncate)$/.test(syscall)) {
    const fd = /^\d+<([^>]*)>/.exec(a);
    return `${syscall} ${fd ? fd[1] : a.split(',')[0]}`;
  }
  const paths = [...a.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  return `${syscall} ${paths.join(' ')}`;
}

/** Whether the call writes to something other than a file (a pipe, socket, eventfd): no state, and its count varies. */
export function isStreamWrite(e: TraceEvent): boolean {
  return /^(write|writev)$/.test(e.syscall) && /\s(pipe|socket|anon_inode)$/.test(e.signature);
}

/**
 * strace -f output as state-changing events, each with its thread's per-syscall index, its
 * process's executable (the first thread is the plugin's; clones inherit; execve changes it), and
 * its identity across runs (signature, occurrence).
 */
export function parseTrace(text: string, pluginExe: string, hide: string[] = []): TraceEvent[] {
  const state = new Set(STATE_SYSCALLS);
  const exeOf = new Map<number, string>();
  const counts = new Map<string, number>();
  const occ = new Map<string, number>();
  const events: TraceEvent[] = [];
  const open = new Map<number, TraceEvent>();
  const pendingClone = new Set<number>();
  let first: number | undefined;
  const inherit = (parent: number, ret: RegExpExecArray | null) => {
    if (ret && Number(ret[1]) > 0) exeOf.set(Number(ret[1]), exeOf.get(parent)!);
  };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    first ??= tid;
    if (!exeOf.has(tid)) exeOf.set(tid, tid === first ? pluginExe : '?');
    const resumedOf = m[2];
    const name = m[3];
    const rest = m[4] ?? '';
    const ret = /\)\s+=\s+(-?\d+)/.exec(rest);
    if (resumedOf) {
      if (pendingClone.has(tid) && CLONES.test(resumedOf)) {
        pendingClone.delete(tid);
        inherit(tid, ret);
      }
      if (resumedOf === 'execve' && ret && ret[1] === '0') exeOf.set(tid, execName(line) ?? exeOf.get(tid)!);
      const ev = open.get(tid);
      if (ev && ev.syscall === resumedOf) {
        if (/=\s+\?\s*$/.test(rest)) ev.killed = true;
        open.delete(tid);
      }
      continue;
    }
    if (!name) continue;
    if (CLONES.test(name)) {
      if (rest.includes('<unfinished')) pendingClone.add(tid);
      else inherit(tid, ret);
      continue;
    }
    if (name === 'execve') {
      const target = /^"([^"]+)"/.exec(rest)?.[1];
      if (target && (!/=\s+-1/.test(rest) || rest.includes('<unfinished'))) exeOf.set(tid, path.basename(target));
      continue;
    }
    if (!state.has(name)) continue;
    const key = `${tid}:${name}`;
    const nth = (counts.get(key) ?? 0) + 1;
    counts.set(key, nth);
    const exe = exeOf.get(tid) ?? '?';
    const args = rest.replace(/\)\s+=\s+.*$/, '').replace(/\s*<unfinished \.\.\.>$/, '');
    const signature = signatureOf(name, args, hide);
    const okey = `${exe}|${signature}`;
    const occurrence = (occ.get(okey) ?? 0) + 1;
    occ.set(okey, occurrence);
    const ev: TraceEvent = { tid, syscall: name, nth, exe, signature, occurrence, text: `${name}(${rest}`.replace(/\s+/g, ' ').slice(0, 200), killed: /=\s+\?\s*$/.test(rest) };
    if (rest.includes('<unfinished')) open.set(tid, ev);
    events.push(ev);
  }
  return events;
}

function execName(line: string): string | undefined {
  const t = /execve\("([^"]+)"/.exec(line)?.[1];
  return t ? path.basename(t) : undefined;
}

/**
 * The kill points of a reference run: every state-changing call of the plugin's own process on a
 * file or directory. Left out: writes to pipes, sockets and eventfds (no file changes; libuv's
 * wake-ups make their number vary), and calls of the IPAM plugin's process (see the header).
 */
export function killPoints(events: TraceEvent[], pluginExe: string): KillPoint[] {
  const out: KillPoint[] = [];
  events.forEach((e, i) => {
    if (e.exe !== pluginExe || isStreamWrite(e)) return;
    out.push({ ...e, seq: i + 1 });
  });
  return out;
}

export interface KilledRun {
  result: RunResult;
  /** The call the plugin died on (the when-th of its syscall, never returned), if it died on one. */
  landed?: TraceEvent;
  /** How many runs it took to land on the point (the count of libuv's stream writes varies). */
  attempts: number;
}

/**
 * Runs `file` under strace, killed (SIGKILL) on entry to the point's call. The run is traced (only
 * the point's syscall, plus process creation), so the call it died on is known: if that is not the
 * point's call (libuv's pipe and eventfd writes, a signal handler's among them, vary by one or two
 * from run to run and move the count), the run is repeated with the count corrected, up to
 * `maxAttempts` times: to the target's own count if this run passed it, else by the offset of the
 * last call this run shares with the reference. `before` puts the node back first.
 */
export async function runKilled(file: string, env: NodeJS.ProcessEnv, stdin: string, point: KillPoint, reference: TraceEvent[], before: () => void, hide: string[], maxAttempts = 10): Promise<KilledRun> {
  const exe = path.basename(file);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-kill-'));
  const log = path.join(out, 'trace');
  const key = (e: TraceEvent) => `${e.signature}#${e.occurrence}`;
  const refNth = new Map(reference.filter((e) => e.exe === exe && e.tid === point.tid && e.syscall === point.syscall).map((e) => [key(e), e.nth]));
  let when = point.nth;
  let last: KilledRun | undefined;
  try {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      before();
      const result = await run(STRACE, env, stdin, { args: [...STRACE_BASE, '-o', log, '-e', `trace=${[point.syscall, ...PROCESS_SYSCALLS].join(',')}`, '-e', `inject=${point.syscall}:signal=SIGKILL:when=${when}`, file] });
      const events = parseTrace(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '', exe, hide).filter((e) => e.exe === exe && e.syscall === point.syscall);
      // The injected call is the when-th of its thread and never returned; other calls cut short by
      // the kill end in "= ?" too, but a when-th call that returned normally was not the one killed.
      const landed = events.find((e) => e.killed && e.nth === when);
      last = { result, landed, attempts: attempt };
      if (landed && key(landed) === key(point)) return last;
      const target = events.find((e) => key(e) === key(point) && !e.killed);
      let next: number;
      if (target) next = target.nth;
      else {
        const tid = landed?.tid ?? events[0]?.tid;
        const shared = events.filter((e) => e.tid === tid && !e.killed && refNth.has(key(e))).at(-1);
        next = shared ? point.nth + (shared.nth - refNth.get(key(shared))!) : when + 1;
        if (next <= when && landed && !target) next = when + 1;
      }
      if (process.env.CNI_FAULTS_DEBUG) console.log(`    re-aim ${point.syscall} ${key(point)} (ref #${point.nth}): when=${when} landed ${landed ? `#${landed.nth} ${key(landed)}` : 'nowhere'}${target ? `, target ran as #${target.nth}` : ''} -> ${next}`);
      // The same count again is fine: the noise differs from run to run.
      when = Math.max(1, next);
    }
    return last!;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
