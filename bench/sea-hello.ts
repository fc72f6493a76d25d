// The baseline of the start-up benchmark: a single executable application built exactly like
// the plugins (same Node, same SEA options) that only prints a line.

import fs from 'node:fs';

fs.writeSync(1, 'hello\n');
