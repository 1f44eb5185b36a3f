import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's PostgreSQL binaries, one folder per major: /usr/lib/postgresql/15/bin. */
export const debianFolder = '/usr/lib/postgresql';

/** The bin folder of Debian's newest PostgreSQL major that has `tool` (initdb, psql), if any. */
export function debianPostgresBin(tool: string): string | undefined {
  if (!existsSync(debianFolder)) return undefined;
  const major = readdirSync(debianFolder)
    .filter((name) => existsSync(join(debianFolder, name, 'bin', tool)))
    .sort((a, b) => Number(b) - Number(a))[0];
  return major === undefined ? undefined : join(debianFolder, major, 'bin');
}
