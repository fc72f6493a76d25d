// stdin/stdout with plain file-descriptor calls. process.stdout is a net.Socket on a pipe, which
// fails with EBADF under Wine and is asynchronous elsewhere; the runtime reads our stdout only
// after we exit, so everything is written synchronously before the process ends.

import fs from 'node:fs';

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reads fd 0 to EOF, however slowly the writer delivers it. */
export function readAllStdin(fd = 0): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A non-blocking pipe with nothing yet; wait for the writer.
      if (code === 'EAGAIN') {
        sleepMs(2);
        continue;
      }
      // Windows reports the writer's close as an error on some pipe kinds.
      if (code === 'EOF') break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

export function writeAll(fd: number, text: string): void {
  const data = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        sleepMs(1);
        continue;
      }
      throw err;
    }
  }
}

export function writeStdout(text: string): void {
  writeAll(1, text);
}

/** Best effort: stderr is for humans and may be closed. */
export function writeStderr(text: string): void {
  try {
    writeAll(2, text);
  } catch {
    /* nobody to tell */
  }
}
