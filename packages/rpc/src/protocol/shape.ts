/**
 * What a response holds, as far as reading a peer's answer needs: each
 * declared field, whether it may be absent, and the shape inside it. The
 * generated client has one per response object, built from the definitions.
 */
export type Shape = { readonly [field: string]: FieldShape };

/**
 * `[kind, optional, shape of what is inside]`: the inner shape for objects, and for lists and maps
 * of objects. `optional` is `'or-zero'` for an optional value whose Go zero value (`""` or `0`)
 * breaks its rules: an oto server sends the field at that value when it never set it, which means
 * absent.
 */
export type FieldShape = readonly [
  kind: 'value' | 'array' | 'map' | 'object',
  optional: boolean | 'or-zero',
  inner?: Shape,
];

/**
 * A success body as the method's declared response. An oto Go server sends a
 * nil slice or map as `null`: a required one becomes `[]` or `{}`, an optional
 * one absent, so the types hold at run time. Fields the definitions do not
 * declare (oto's empty `error`, a newer server's additions) are left out,
 * and so is an optional value at a zero value its rules refuse (`"spice":""`
 * for an enum, `"rating":0` for `@minimum 1`): oto's server sends those for
 * fields it never set. Values are not otherwise checked: the server checks
 * its own answers.
 */
export function conform(value: unknown, shape: Shape): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const field in shape) {
    const item = source[field];
    if (item === undefined) continue;
    const [kind, optional, inner] = shape[field] as FieldShape;
    if (optional === 'or-zero' && (item === '' || item === 0)) continue;
    if (item === null) {
      if (optional) continue;
      result[field] = kind === 'array' ? [] : kind === 'map' ? {} : null;
    } else if (inner === undefined) {
      result[field] = item;
    } else if (kind === 'array') {
      result[field] = Array.isArray(item) ? item.map((element) => conform(element, inner)) : item;
    } else if (kind === 'map') {
      result[field] =
        typeof item === 'object' && !Array.isArray(item)
          ? Object.fromEntries(Object.entries(item).map(([key, entry]) => [key, conform(entry, inner)]))
          : item;
    } else {
      result[field] = conform(item, inner);
    }
  }
  return result;
}
