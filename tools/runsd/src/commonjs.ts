/**
 * gcp-metadata and undici are CommonJS. Imported dynamically, Node hands
 * over their exports as `default` (and named exports only when it can find
 * them); a bundle's lazy chunk hands over `default` alone. This takes the
 * exports from wherever they are.
 */
export function commonJs<T>(namespace: T): T {
  return (namespace as { default?: T }).default ?? namespace;
}
