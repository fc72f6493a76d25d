// Awaits a promise that must reject with a CniError, and returns the error for its code and message.

import * as assert from 'uvu/assert';
import { CniError } from '../../shared/cni/errors';

export async function cniError(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CniError, String((err as Error).stack));
    return err as CniError;
  }
  return assert.unreachable('expected a CniError') as never;
}
