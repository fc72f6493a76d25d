// Types of scripts/docs.mjs for the TypeScript tests that import it.
export declare const PLUGIN_DOCS: Record<string, { schema: string; defaults: Record<string, string> }>;
export declare function keyTables(plugin: string): string;
export declare function renderReadme(plugin: string, text: string): string;
