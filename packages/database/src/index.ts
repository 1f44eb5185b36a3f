// The types that a service's database.generated.ts names, so a service depends on this package alone.
import type { ColumnType } from 'kysely';

export type { ColumnType, Insertable, Kysely, Selectable, Updateable } from 'kysely';
export type { ShippedMigration } from './applied.js';
export { connectionSettings } from './connection.js';
export {
  type DatabaseLog,
  type DatabaseSchema,
  type OpenDatabaseOptions,
  openDatabase,
  type ServiceDatabase,
} from './open.js';

/** A json or jsonb column's value, as node-postgres reads it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A column an insert may leave out (it has a default, or is an identity). Kysely's own `Generated` takes a plain
 * type; this one takes a ColumnType too, such as Timestamp.
 */
export type Generated<T> =
  T extends ColumnType<infer Select, infer Insert, infer Update>
    ? ColumnType<Select, Insert | undefined, Update>
    : ColumnType<T, T | undefined, T>;

/** A column the database computes: read, never written. */
export type GeneratedAlways<T> =
  T extends ColumnType<infer Select, unknown, unknown> ? ColumnType<Select, never, never> : ColumnType<T, never, never>;

/** int8 and numeric: node-postgres reads them as strings, which keep every digit; written from any of these. */
export type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;

/** timestamp, timestamptz and date: read as a Date, written from a Date or an ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
