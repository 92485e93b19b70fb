/** Types for mutations.mjs (plain JavaScript: the runner loads it before any bundle exists). */
export interface Mutation {
  what: string;
  file: string;
  find: string;
  replace: string;
}
export const MUTATIONS: Record<string, Mutation>;
export function mutationPlugin(id: string): unknown;
