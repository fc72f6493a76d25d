// The suite's version, stamped by build.mjs from package.json ("dev" when run from source).

declare const __PRODUCT_VERSION__: string | undefined;

export const PRODUCT_VERSION: string = typeof __PRODUCT_VERSION__ === 'string' ? __PRODUCT_VERSION__ : 'dev';
