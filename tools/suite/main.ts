// The suite's one executable. Installed under several names (hard links or copies of one file:
// win-l2bridge.exe, win-overlay.exe, host-gateway.exe, l3-upstream.exe, hnsctl.exe), it becomes
// the one it is invoked as, so a node holds one Node runtime instead of five. Invoked under its
// own name, the first argument names the tool: `cni-suite hnsctl list networks`.
//
// The name comes from argv[0] as the caller wrote it (a symlink keeps its own name there, where
// the executable's path would be the target's). Only the chosen tool's code is evaluated.

import path from 'node:path';
import { writeStderr } from '../../shared/cni/stdio';
import { main as runCni } from '../../shared/cni/skel';
import { inExecutable, requireAsset } from '../../shared/sys/asset';
import { PRODUCT_VERSION } from '../../shared/version';
import { PLUGINS } from './plugins';

export const SUITE_NAME = 'cni-suite';

const TOOLS: Record<string, (argv: string[]) => Promise<number>> = {
  hnsctl: async (argv) => (await import('../hnsctl/main')).hnsctl(argv),
  'cni-agent': async (argv) => loadAgent().main(argv),
};

/** V8 flags the agent sets for itself before its code is compiled. */
const AGENT_V8 = ['--lazy', '--optimize-for-size'];

/** The SEA asset holding the agent's own bundle (build.mjs). */
export const AGENT_ASSET = 'cni-agent.js';

interface AgentModule {
  main(argv: string[]): Promise<number>;
}

/**
 * The node agent, which is not in this bundle: it brings the Kubernetes client (its bundle is ~1 MB)
 * that no plugin start may parse. In the executable it is the SEA asset cni-agent.js; from source
 * (tsx) it is the module itself; beside a plain bundle (node dist/bundle/cni-suite.js) it is
 * dist/bundle/cni-agent.js (shared/sys/asset.ts).
 */
function loadAgent(): AgentModule {
  if (inExecutable()) {
    // The executable runs with --no-lazy for the plugins' sake (build.mjs EAGER_V8). The agent is a
    // long-lived service: compiling all of the Kubernetes client up front would only cost memory,
    // and a heap kept small matters more to it than peak speed (bench/agent.mjs: peak RSS of the
    // overlay agent at 1,000 Nodes 134 -> 111 MiB, events still well under 50 ms).
    const v8 = require('node:v8') as typeof import('node:v8');
    for (const flag of AGENT_V8) v8.setFlagsFromString(flag);
  }
  const fromSource = /\.ts$/.test(__filename);
  return requireAsset<AgentModule>(AGENT_ASSET, fromSource ? path.join(__dirname, '..', 'cni-agent', 'main.ts') : path.join(__dirname, AGENT_ASSET));
}

/** `C:\k\cni\bin\win-l2bridge.exe` -> `win-l2bridge`. */
export function invokedAs(argv0: string): string {
  const base = argv0.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.exe$/i, '').toLowerCase();
}

function usage(): string {
  return `${SUITE_NAME} ${PRODUCT_VERSION}: install it under the name of a plugin or tool (hard link or copy), or run ${SUITE_NAME} <name> [args]\n`
    + `  plugins: ${Object.keys(PLUGINS).join(', ')}\n  tools:   ${Object.keys(TOOLS).join(', ')}\n`;
}

async function dispatch(name: string, args: string[]): Promise<void> {
  const plugin = PLUGINS[name];
  if (plugin) return runCni((await plugin()).info);
  const tool = TOOLS[name];
  if (tool) {
    process.exitCode = await tool(args);
    return;
  }
  if (name === SUITE_NAME && args[0] && (PLUGINS[args[0]] || TOOLS[args[0]])) return dispatch(args[0], args.slice(1));
  writeStderr(name === SUITE_NAME ? usage() : `${SUITE_NAME}: invoked as "${name}", which is none of its tools\n${usage()}`);
  process.exitCode = name === SUITE_NAME && args.length === 0 ? 0 : 2;
}

// In a single executable application argv[1] is argv[0] as given; under plain node it is the script.
const argv0 = process.argv[1] && !/\.(c?js|ts)$/.test(process.argv[1]) ? process.argv[1] : process.argv0;
dispatch(invokedAs(argv0), process.argv.slice(2)).catch((err) => {
  writeStderr(`${SUITE_NAME}: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
