// cni-agent: keeps this node's HNS network, host endpoint and conflist, and the routes or policies
// to its peers, from the Kubernetes API (or a peer file). The thin entry: arguments, config, log,
// the loop (agent.ts), signals and, on Windows, the service control protocol (service.ts).
//
//   cni-agent --config <file>               runs until stopped (SIGTERM, SIGINT, service stop)
//   cni-agent --config <file> --once        one reconcile; exit 0 when the node matches its desired state
//   cni-agent --config <file> --service [n] run as the Windows service n (registered with sc.exe)
//
// Inside the suite's executable this module is loaded from a SEA asset (tools/suite/main.ts), so
// that the Kubernetes client it brings never enters the plugins' start-up.

import { AgentConfigError, parseAgentConfig, type AgentConfig } from '../../shared/config/agent';
import { PRODUCT_VERSION } from '../../shared/version';
import { Agent } from './agent';
import { AgentLog } from './log';
import { readTextFile } from '../../shared/sys/text';
import { writeStderr, writeStdout } from '../../shared/cni/stdio';

export const USAGE = `usage: cni-agent --config <file> [--node <name>] [--once] [--service [<name>]]

  --config <file>     the agent's JSON configuration (tools/cni-agent/README.md)
  --node <name>       this node's name, instead of the file's "node" (a DaemonSet passes spec.nodeName)
  --once              reconcile once and exit: 0 when the node matches its desired state, 1 if not
  --service [<name>]  run under the Windows service control manager (default name: cni-agent)
  --version           print the version
`;

interface Args {
  config?: string;
  node?: string;
  once: boolean;
  service?: string;
  help: boolean;
  version: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { once: false, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--config' || x === '-c') {
      a.config = argv[++i];
      if (!a.config) throw new UsageError('--config needs a file');
    } else if (x.startsWith('--config=')) a.config = x.slice('--config='.length);
    else if (x === '--node') {
      a.node = argv[++i];
      if (!a.node) throw new UsageError('--node needs a name');
    }
    else if (x === '--once') a.once = true;
    else if (x === '--service') a.service = argv[i + 1] && !argv[i + 1]!.startsWith('-') ? argv[++i] : 'cni-agent';
    else if (x === '--help' || x === '-h') a.help = true;
    else if (x === '--version') a.version = true;
    else throw new UsageError(`unknown argument ${x}`);
  }
  return a;
}

function say(fd: 1 | 2, text: string): void {
  if (fd === 1) {
    try {
      writeStdout(text);
    } catch {
      /* closed */
    }
  } else writeStderr(text);
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, node?: string): AgentConfig {
  let text: string;
  try {
    text = readTextFile(file);
  } catch (err) {
    throw new AgentConfigError(file, undefined, `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseAgentConfig(text, file, env, platform, node ? { node } : {});
}

/** Runs the agent until `stopped` resolves (a signal or a service stop); returns the exit code. */
async function runUntilStopped(agent: Agent, log: AgentLog, stopped: Promise<string>, onRunning?: () => void): Promise<number> {
  await agent.open();
  const address = await agent.start();
  log.stderr(`running: mode ${agent.cfg.mode}, network ${agent.cfg.network}, node ${agent.cfg.node}; probes on http://${address}`);
  onRunning?.();
  const reason = await stopped;
  await agent.stop(reason);
  log.stderr(`stopped (${reason})`);
  return 0;
}

function signals(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => () => resolve(sig);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as NodeJS.Signals[]) {
      try {
        process.once(sig, on(sig));
      } catch {
        /* not on this platform */
      }
    }
  });
}

/**
 * Keeps V8's young generation at its initial size (1 MiB semi-spaces) instead of letting it grow
 * to 16 MiB each under load: the agent allocates little and steadily, a long-running process
 * keeps whatever the young generation grew to, and at 1,000 Nodes that growth alone was 30 MiB of
 * resident memory (bench/agent.mjs). V8 reads this flag each time it would grow the space, so
 * setting it at run time takes effect (measured on the shipped Node 22.23.3; the SEA ignores
 * NODE_OPTIONS, and the executable's other tools keep V8's defaults).
 */
function boundYoungGeneration(): void {
  try {
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    /* a V8 without the flag: its defaults */
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<number> {
  boundYoungGeneration();
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    say(2, `cni-agent: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    say(1, USAGE);
    return 0;
  }
  if (args.version) {
    say(1, `cni-agent ${PRODUCT_VERSION}\n`);
    return 0;
  }
  if (!args.config) {
    say(2, `cni-agent: --config is required\n${USAGE}`);
    return 2;
  }
  let cfg: AgentConfig;
  try {
    cfg = loadConfig(args.config, env, platform, args.node);
  } catch (err) {
    say(2, `cni-agent: ${(err as Error).message}\n`);
    return 2;
  }
  const log = new AgentLog(cfg.logFile, { plugin: 'cni-agent', node: cfg.node, network: cfg.network, mode: cfg.mode }, cfg.logStderr);
  const agent = new Agent({ cfg, log, env, platform });
  try {
    if (args.once) {
      await agent.open();
      const ok = await agent.once();
      await agent.stop('once');
      const s = agent.status;
      say(ok ? 1 : 2, `${JSON.stringify({ ok, network: s.nodeReady ? 'ready' : 'not ready', peers: s.peersSynced ? 'synced' : 'not synced', conflist: s.node?.conflist ?? null, ownedRoutes: agent.owned().routes, ownedPolicies: agent.owned().policies, ...(s.lastError ? { error: s.lastError } : {}), ...(s.problems?.length ? { refusedPeers: s.problems.length, refused: s.problems.slice(0, 20) } : {}) })}\n`);
      return ok ? 0 : 1;
    }
    if (args.service !== undefined) {
      const { runAsService } = await import('./service');
      return await runAsService(args.service, log, (stopped, onRunning) => runUntilStopped(agent, log, stopped, onRunning));
    }
    return await runUntilStopped(agent, log, signals());
  } catch (err) {
    log.error('fatal', err);
    say(2, `cni-agent: ${(err as Error).stack ?? String(err)}\n`);
    await agent.stop('fatal').catch(() => undefined);
    return 1;
  } finally {
    log.close();
  }
}
