// The file peer source: a JSON list of {name, nodeIP, podCIDR, vtepMac?} (nodeIP and podCIDR may
// be lists of one or two), for clusters without an API the agent may read, and for tests. It is
// read again when it changes (a directory watch, and at every reconcile as a fallback); a file
// that does not parse or check keeps the last good list, as an API outage keeps the last Nodes.

import fs from 'node:fs';
import path from 'node:path';
import { formats } from '../../shared/net/formats';
import type { Peer } from '../../shared/node/peers';
import { readTextFile } from '../../shared/sys/text';

export class PeerFileError extends Error {
  constructor(readonly file: string, readonly key: string | undefined, message: string) {
    super(message);
    this.name = 'PeerFileError';
  }
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** Parses and checks the file's text; errors name the entry and key (`[2].nodeIP`). */
export function parsePeerFile(text: string, file: string): Peer[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PeerFileError(file, undefined, `${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new PeerFileError(file, undefined, `${file} must hold a JSON array of {"name", "nodeIP", "podCIDR", "vtepMac"?}`);
  const seen = new Set<string>();
  return doc.map((e, i): Peer => {
    const fail = (key: string, why: string): never => {
      throw new PeerFileError(file, `[${i}].${key}`, `${file}: key "[${i}].${key}" ${why}`);
    };
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw new PeerFileError(file, `[${i}]`, `${file}: entry [${i}] must be an object`);
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['name', 'nodeIP', 'podCIDR', 'vtepMac', 'vni'].includes(k)) fail(k, 'is not allowed here (name, nodeIP, podCIDR, vtepMac, vni)');
    if (typeof o.name !== 'string' || !o.name) fail('name', 'is required (the node\'s name)');
    if (seen.has(o.name as string)) fail('name', `repeats ${JSON.stringify(o.name)}`);
    seen.add(o.name as string);
    const ips = list(o.nodeIP);
    if (ips.length === 0 || ips.length > 2 || ips.some((x) => typeof x !== 'string' || !formats.ip!(x))) fail('nodeIP', 'must be an IP address (or a list of one or two)');
    const prefixes = list(o.podCIDR);
    if (prefixes.length > 2 || prefixes.some((x) => typeof x !== 'string' || !formats.prefix!(x))) fail('podCIDR', 'must be a prefix in network form (or a list of one or two)');
    if (o.vtepMac !== undefined && (typeof o.vtepMac !== 'string' || !formats.mac!(o.vtepMac))) fail('vtepMac', 'must be a MAC address (xx-xx-xx-xx-xx-xx or xx:xx:...)');
    if (o.vni !== undefined && (typeof o.vni !== 'number' || !Number.isInteger(o.vni))) fail('vni', 'must be an integer');
    const peer: Peer = { name: o.name as string, nodeIPs: ips as string[], podCIDRs: prefixes as string[] };
    if (typeof o.vtepMac === 'string') peer.vtepMac = o.vtepMac;
    if (typeof o.vni === 'number') peer.vni = o.vni;
    return peer;
  });
}

export class FilePeers {
  peers?: Peer[];
  lastError?: PeerFileError | Error;
  private text?: string;
  private watcher?: fs.FSWatcher;
  private debounce?: NodeJS.Timeout;

  constructor(readonly file: string) {}

  /** Reads the file; true when the list changed. Errors keep the last good list and are kept in lastError. */
  refresh(): boolean {
    let text: string;
    try {
      text = readTextFile(this.file);
    } catch (err) {
      this.lastError = new PeerFileError(this.file, undefined, `cannot read the peer file ${this.file}: ${(err as Error).message}`);
      return false;
    }
    if (text === this.text && !this.lastError) return false;
    try {
      const peers = parsePeerFile(text, this.file);
      this.text = text;
      this.lastError = undefined;
      const changed = JSON.stringify(peers) !== JSON.stringify(this.peers);
      this.peers = peers;
      return changed;
    } catch (err) {
      this.lastError = err as Error;
      return false;
    }
  }

  /** Calls `onChange` soon after the file changes (a watch of its directory; renames included). */
  watch(onChange: () => void): void {
    try {
      this.watcher = fs.watch(path.dirname(this.file), (_event, name) => {
        if (name && name.toString() !== path.basename(this.file)) return;
        if (this.debounce) clearTimeout(this.debounce);
        this.debounce = setTimeout(onChange, 20);
      });
      this.watcher.on('error', () => this.stop());
    } catch {
      /* no watch: the periodic reconcile reads it */
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.debounce) clearTimeout(this.debounce);
  }
}
