// Types of scripts/shapes.mjs for the TypeScript tests that import it.
export interface Shapes {
  nodes: unknown[];
  roots: Record<string, number>;
}
export function buildShapes(schemas: object[], rootIds: string[]): Shapes;
