// Typed errors of the node's desired state. The agent's loop treats them differently: a conflict
// (a network of our name but another mode or subnet) needs an operator and is reported, never
// "fixed" by deleting; not-ready (HNS has not filled in the provider address yet, the node has no
// pod subnet yet) is retried quietly; invalid is a bug in what we were given (a peer file).

export type NodeErrorKind = 'conflict' | 'not-ready' | 'invalid' | 'not-found';

export class NodeStateError extends Error {
  constructor(readonly kind: NodeErrorKind, message: string, readonly hint?: string) {
    super(hint ? `${message}; ${hint}` : message);
    this.name = 'NodeStateError';
  }
}

export const conflict = (message: string, hint?: string) => new NodeStateError('conflict', message, hint);
export const notReady = (message: string, hint?: string) => new NodeStateError('not-ready', message, hint);
export const invalid = (message: string, hint?: string) => new NodeStateError('invalid', message, hint);
