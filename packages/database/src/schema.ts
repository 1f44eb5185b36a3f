import pg from 'pg';
import { migrationsTable } from './applied.js';

/** A column as the row types need it. */
export interface ColumnShape {
  name: string;
  /** PostgreSQL's type name (`int4`, `timestamptz`, an enum's name), without the array marker. */
  type: string;
  array: boolean;
  nullable: boolean;
  /** `default`: it has a default or is an identity, so an insert may leave it out; `always`: it is computed. */
  generated: 'default' | 'always' | undefined;
  comment: string | undefined;
}

export interface TableShape {
  name: string;
  /** A view is read, never written. */
  view: boolean;
  comment: string | undefined;
  columns: ColumnShape[];
}

export interface SchemaShape {
  tables: TableShape[];
  /** Enum types by name, with their labels in order. */
  enums: Map<string, string[]>;
}

interface ColumnRow {
  table_name: string;
  table_type: string;
  table_comment: string | null;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: string;
  column_default: string | null;
  is_identity: string;
  identity_generation: string | null;
  is_generated: string;
  column_comment: string | null;
}

/**
 * The tables, views and enums of a database's public schema, as its
 * catalog says, in a stable order, without the migrator's own table: what
 * the row types are written from.
 */
export async function readSchema(url: string): Promise<SchemaShape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query<ColumnRow>(
      `select c.table_name, t.table_type, c.column_name, c.data_type, c.udt_name, c.is_nullable, c.column_default,
              c.is_identity, c.identity_generation, c.is_generated,
              obj_description(format('%I.%I', c.table_schema, c.table_name)::regclass, 'pg_class') as table_comment,
              col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position) as column_comment
         from information_schema.columns c
         join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema = 'public' and c.table_name <> $1
        order by c.table_name, c.ordinal_position`,
      [migrationsTable],
    );
    const labels = await client.query<{ name: string; label: string }>(
      `select t.typname as name, e.enumlabel as label
         from pg_type t join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = 'public'
        order by t.typname, e.enumsortorder`,
    );
    const tables = new Map<string, TableShape>();
    for (const row of columns.rows) {
      let table = tables.get(row.table_name);
      if (table === undefined) {
        table = {
          name: row.table_name,
          view: row.table_type === 'VIEW',
          comment: row.table_comment ?? undefined,
          columns: [],
        };
        tables.set(row.table_name, table);
      }
      const array = row.data_type === 'ARRAY';
      table.columns.push({
        name: row.column_name,
        type: array ? row.udt_name.slice(1) : row.udt_name,
        array,
        nullable: row.is_nullable === 'YES',
        generated:
          row.is_generated === 'ALWAYS' || row.identity_generation === 'ALWAYS'
            ? 'always'
            : row.column_default !== null || row.is_identity === 'YES'
              ? 'default'
              : undefined,
        comment: row.column_comment ?? undefined,
      });
    }
    const enums = new Map<string, string[]>();
    for (const { name, label } of labels.rows) enums.set(name, [...(enums.get(name) ?? []), label]);
    return { tables: [...tables.values()], enums };
  } finally {
    await client.end();
  }
}
