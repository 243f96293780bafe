// Types of imports.mjs (the import graph the structure test reads).
export interface ImportEdge {
  from: string;
  to: string;
  spec: string;
}
export const ROOT: string;
export function sourceFiles(): string[];
export function code(path: string): string;
export function importEdges(files?: string[]): ImportEdge[];
export function area(path: string): string;
