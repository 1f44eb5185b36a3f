import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A service's schema, as the files of its migrations folder:
 * `NNNN_<what>.sql`, plain SQL, applied in the order of their numbers,
 * which run from 0001 with no gap. The manifest check, the migrator and the
 * type generator all read the folder through here, so they agree on what a
 * migration is.
 */
export interface Migration {
  /** 1 for `0001_create_orders.sql`. */
  number: number;
  /** The file's name, which the migrator records with its checksum. */
  file: string;
}

export const migrationFilePattern = /^(\d{4})_([a-z\d][a-z\d_]*)\.sql$/;
const migrationFileRule = 'NNNN_<what>.sql: four digits, an underscore, then lowercase letters, digits and _';

/**
 * The migrations in `folder` (relative to `root`), in order, and what is
 * wrong with them: each problem a line naming the file as `folder` names it.
 * Dot files (.gitkeep) are not migrations and are passed over.
 */
export function readMigrations(root: string, folder: string): { migrations: Migration[]; problems: string[] } {
  if (!existsSync(join(root, folder)) || !statSync(join(root, folder)).isDirectory()) {
    return {
      migrations: [],
      problems: [`${folder}: no such folder; make it, with 0001_<what>.sql as its first migration`],
    };
  }
  const problems: string[] = [];
  const entries = readdirSync(join(root, folder)).filter((entry) => !entry.startsWith('.'));
  const migrations: Migration[] = [];
  for (const file of entries.sort()) {
    const path = join(folder, file);
    if (statSync(join(root, path)).isDirectory()) {
      problems.push(`${path}: a folder; migrations are the .sql files directly in ${folder}`);
      continue;
    }
    if (!file.endsWith('.sql')) {
      problems.push(`${path}: not a .sql file; a migration is ${migrationFileRule}`);
      continue;
    }
    const match = migrationFilePattern.exec(file);
    if (match?.[1] === undefined) {
      problems.push(`${path}: not named as a migration: ${migrationFileRule}`);
      continue;
    }
    migrations.push({ number: Number(match[1]), file });
  }
  problems.push(...numberingProblems(folder, migrations));
  return { migrations, problems };
}

/** Numbers that are used twice or skipped: either would make the order, or a migration's presence, uncertain. */
function numberingProblems(folder: string, migrations: readonly Migration[]): string[] {
  const problems: string[] = [];
  let expected = 1;
  for (const [index, migration] of migrations.entries()) {
    const previous = migrations[index - 1];
    if (previous !== undefined && previous.number === migration.number) {
      problems.push(
        `${join(folder, migration.file)}: number ${pad(migration.number)} is ${previous.file}'s too; give each migration its own`,
      );
      continue;
    }
    if (migration.number !== expected) {
      const missing =
        expected === migration.number - 1 ? pad(expected) : `${pad(expected)} to ${pad(migration.number - 1)}`;
      problems.push(
        `${join(folder, migration.file)}: no migration numbered ${missing} before it; number them from 0001 with no gap`,
      );
    }
    expected = migration.number + 1;
  }
  return problems;
}

function pad(number: number): string {
  return String(number).padStart(4, '0');
}
