import { describe, expect, it } from 'vitest';
import { hints, type Schema } from '../page/hints.js';

// The schema otogen writes for EatTacoRequest, and an object and an enum it could name.
const defs: Record<string, Schema> = {
  Spice: { title: 'Spice', type: 'string', enum: ['mild', 'hot'] },
  Salsa: {
    title: 'Salsa',
    type: 'object',
    properties: { spice: { $ref: '#/$defs/Spice' } },
    required: ['spice'],
    additionalProperties: false,
  },
};
const request: Schema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    tacos: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1000 },
    salsa: { $ref: '#/$defs/Salsa', description: 'The salsa on top.' },
    count: { type: 'integer', minimum: 1 },
  },
  required: ['name', 'tacos'],
  additionalProperties: false,
};

describe('hints', () => {
  it('has nothing to say about a request the schema takes', () => {
    expect(hints({ name: 'Sammy Sosa', tacos: ['Chicken'], salsa: { spice: 'hot' }, count: 2 }, request, defs)).toEqual(
      [],
    );
  });

  it('says what the service would refuse, field by field, as a person would put it', () => {
    expect(
      hints({ name: '', tacos: [1], salsa: { spice: 'volcanic' }, count: 0.5, extra: true }, request, defs),
    ).toEqual([
      { path: 'name', message: 'must not be empty' },
      { path: 'tacos[0]', message: 'must be a string, not a number' },
      { path: 'salsa.spice', message: 'must be one of "mild", "hot"' },
      { path: 'count', message: 'must be an integer, not a number' },
      { path: 'extra', message: 'is not a field of this object; the service ignores it' },
    ]);
    expect(hints({}, request, defs)).toEqual([
      { path: 'name', message: 'is required' },
      { path: 'tacos', message: 'is required' },
    ]);
    expect(hints({ name: 'x'.repeat(201), tacos: [] }, request, defs)).toEqual([
      { path: 'name', message: 'must be at most 200 characters' },
      { path: 'tacos', message: 'must not be empty' },
    ]);
  });

  it('checks one field alone, under its own path, as the explorer does while it is typed', () => {
    expect(hints([], { type: 'array', items: { type: 'string' }, minItems: 1 }, defs, 'tacos')).toEqual([
      { path: 'tacos', message: 'must not be empty' },
    ]);
    expect(hints(null, { $ref: '#/$defs/Salsa' }, defs, 'salsa')).toEqual([
      { path: 'salsa', message: 'must be an object, not null' },
    ]);
  });
});
