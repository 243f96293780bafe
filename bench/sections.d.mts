// Types of sections.mjs (how the bench writes BENCHMARKS.md), for the test that checks it.
export const TITLE: string;
export function notesOf(doc: string, name: string): string;
export function withSection(doc: string, name: string, generated: string): string;
export function gitCommit(root: string): string;
