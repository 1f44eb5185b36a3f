import type { DatabaseView, TableRows } from '../src/views.js';
import { h, view } from './dom.js';

/**
 * The Data view: each service's database, its tables with their row counts
 * and the migrations applied to it; and, for the table chosen, its last
 * rows. It only reads.
 */
export function dataView(databases: DatabaseView[], chosen?: { service: string; rows?: TableRows; error?: string }) {
  return view(
    'data',
    'Data',
    databases.length === 0
      ? 'No service has a database: "database": {} in a service.json gives it one.'
      : "Each service's own database, as the runner serves it: its tables, the migrations applied to it, and a table's last rows. Read-only.",
    databases.map((database) =>
      h(
        'div',
        { class: 'database', 'data-service': database.service },
        h('h3', {}, database.service),
        database.error === undefined ? null : h('p', { class: 'error' }, `Not readable: ${database.error}`),
        h(
          'table',
          { class: 'tables' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', {}, 'Rows'))),
          h(
            'tbody',
            {},
            database.tables.map((table) =>
              h(
                'tr',
                {},
                h(
                  'td',
                  {},
                  h('a', { href: `#/data/${database.service}/${encodeURIComponent(table.name)}` }, table.name),
                ),
                h('td', { class: 'number' }, table.rows),
              ),
            ),
          ),
        ),
        h(
          'p',
          { class: 'migrations' },
          database.migrations.length === 0
            ? 'No migration applied.'
            : `Migrations applied: ${database.migrations.map((migration) => migration.file).join(', ')}`,
        ),
        chosen?.service === database.service ? rowsTable(chosen) : null,
      ),
    ),
  );
}

function rowsTable({ rows, error }: { rows?: TableRows; error?: string }): HTMLElement {
  if (rows === undefined) return h('p', { class: 'error' }, error ?? '');
  return h(
    'div',
    { class: 'rows' },
    h('h4', {}, `${rows.table}: its last ${rows.rows.length} rows, newest first`),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          rows.columns.map((column) => h('th', {}, column)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.rows.map((row) =>
          h(
            'tr',
            {},
            row.map((value) => h('td', value === null ? { class: 'null' } : {}, value ?? 'NULL')),
          ),
        ),
      ),
    ),
  );
}
