import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { debianPostgresBin } from '@taco-run/database/installed';
import { dataFolder, migrateLocal, openLocalDatabase, servedUrl } from '@taco-run/database/local';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { loadProject, ManifestError, type Service } from '@taco-run/project/services';
import packageJson from '../package.json' with { type: 'json' };

const usage = `db ${packageJson.version}: a service's embedded database, as pnpm dev keeps it in services/<name>/.database.

usage:
  db reset <service>   (pnpm db:reset) delete its data and start it afresh, with its migrations applied
  db psql <service>    (pnpm db:psql) open psql on it: the one pnpm dev serves, else its data directly

options:
  -h, --help           this text
  --version            its version`;

const commandLine = {
  name: 'db',
  version: packageJson.version,
  usage,
  options: {},
  positionals: true,
} satisfies CommandLine<Options>;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const [command, name, ...rest] = parsed.positionals;
  if (command !== 'reset' && command !== 'psql') {
    return reportUsageError(commandLine, command === undefined ? 'missing command' : `unknown command ${command}`);
  }
  if (name === undefined) return reportUsageError(commandLine, `${command} takes the name of a service`);
  if (rest.length > 0) return reportUsageError(commandLine, `${command} takes one service, not "${rest.join(' ')}"`);
  const root = process.cwd();
  let service: Service;
  try {
    service = loadProject(root).service(name);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    process.stderr.write(`${error.problems.map((problem) => `db: ${problem}`).join('\n')}\n`);
    return 1;
  }
  if (service.database === undefined) {
    process.stderr.write(`db: ${name} has no database; add "database": {} to ${join(service.dir, 'service.json')}\n`);
    return 1;
  }
  return command === 'reset' ? reset(root, service) : psql(root, service);
}

async function reset(root: string, service: Service): Promise<number> {
  const served = servedUrl(root, service);
  if (served !== undefined) {
    process.stderr.write(`db: pnpm dev is serving ${service.name}'s database; stop it first, then reset\n`);
    return 1;
  }
  await rm(dataFolder(root, service), { recursive: true, force: true });
  const database = await openLocalDatabase(root, service, {}, 1);
  try {
    const migrated = await migrateLocal(root, database);
    if (!migrated.ok) {
      process.stderr.write(`db: ${service.name}'s database is empty; its migrations stopped:\n${migrated.problem}\n`);
      return 1;
    }
    const applied = migrated.applied.length === 0 ? 'no migrations yet' : `applied ${migrated.applied.join(', ')}`;
    process.stdout.write(`db: ${service.name}'s database is fresh in ${join(service.dir, '.database')}: ${applied}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

async function psql(root: string, service: Service): Promise<number> {
  const command = findPsql();
  if (command === undefined) {
    process.stderr.write(
      "db: psql is not installed (apt-get install postgresql-client, brew install libpq); the dev console's Data view shows the tables too\n",
    );
    return 1;
  }
  const served = servedUrl(root, service);
  const database = served === undefined ? await openLocalDatabase(root, service, {}, 1) : undefined;
  const url = served ?? database?.url ?? '';
  try {
    const child = spawn(command, [url], { stdio: 'inherit' });
    // psql handles Ctrl-C itself (it cancels the query); this process must not die of it first.
    process.on('SIGINT', () => {});
    return await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    await database?.close();
  }
}

/** psql on PATH, else Debian's server package's own. */
function findPsql(): string | undefined {
  for (const folder of (process.env.PATH ?? '').split(':')) {
    if (folder !== '' && existsSync(join(folder, 'psql'))) return join(folder, 'psql');
  }
  const debian = debianPostgresBin('psql');
  return debian === undefined ? undefined : join(debian, 'psql');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`db: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
