// Stands in for the npm package whatwg-url in the agent's bundle (build.mjs aliases it).
// node-fetch 2, which the Kubernetes client uses, requires it at load but only falls back to its
// URL class where Node has none (`const URL = Url.URL || whatwgUrl.URL`, node-fetch lib/index.js);
// Node always has one. The real package loads tr46's Unicode mapping table (260 KB) at require
// time and Node's deprecated punycode module (a DEP0040 warning at every start): neither is needed.

import { URL } from 'node:url';

export { URL };
export default { URL };
