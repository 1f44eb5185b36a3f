import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@taco-run/project/ports';
import pg from 'pg';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.js';
import { debianFolder, debianPostgresBin } from './installed.js';
import { migrate } from './migrate.js';

const run = promisify(execFile);

/**
 * The folder of the machine's PostgreSQL server binaries (initdb, postgres):
 * Debian's newest major, else the one on PATH; else why there is none, for a
 * test to skip with.
 */
export function findPostgres(): { bin: string } | { missing: string } {
  const debian = debianPostgresBin('initdb');
  if (debian !== undefined) return { bin: debian };
  for (const folder of (process.env.PATH ?? '').split(':')) {
    if (folder !== '' && existsSync(join(folder, 'initdb')) && existsSync(join(folder, 'postgres'))) {
      return { bin: folder };
    }
  }
  return {
    missing: `no PostgreSQL server here (no ${debianFolder}/<major>/bin/initdb, no initdb on PATH); apt-get install postgresql`,
  };
}

/** A throwaway PostgreSQL cluster on loopback, with trust authentication for the user postgres. */
export interface TestPostgres {
  /** The connection URL of its `postgres` database. */
  url: string;
  port: number;
  /** The folder of its Unix socket, when it was asked for one. */
  socketDirectory: string | undefined;
  /** Makes a new empty database and returns its URL: one per test keeps tests apart. */
  createDatabase(name: string): Promise<string>;
  /**
   * Stops the server as a crash would, keeping its data: PostgreSQL's immediate shutdown
   * (SIGQUIT) ends every session at once, and the next start recovers from the log. For fault tests.
   */
  kill(): Promise<void>;
  /** Starts it again on the same port and data, after kill(). */
  restart(): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

/** The unprivileged user that runs the server when the tests run as root, which initdb and postgres refuse. */
const nobody = { uid: 65_534, gid: 65_534 };

/**
 * Makes a cluster with initdb in a temporary folder and starts its server on
 * a free loopback port, with no Unix socket (unless `socket` asks for one)
 * and fsync off: a test's data need not survive the machine. Throws with the
 * server's output when it does not come up within 20 s.
 */
export async function startPostgres(
  bin: string,
  {
    wrapper = [],
    socket,
    hba = [],
  }: {
    /** What runs the server, in front of its own command: `['taskset', '-c', '1']` pins it and its sessions to a core. */
    wrapper?: readonly string[];
    /**
     * Also listen on a Unix socket in this folder, made inside the server's own (`cloudsql/<instance>`, say, as
     * Cloud Run mounts one); its full path is the server's `socketDirectory`.
     */
    socket?: string;
    /** pg_hba.conf lines that come before its trust rules: `local all "<user>" scram-sha-256` makes that user give its password. */
    hba?: readonly string[];
  } = {},
): Promise<TestPostgres> {
  const folder = await mkdtemp(join(tmpdir(), 'taco-run-postgres-'));
  const asRoot = process.getuid?.() === 0;
  const asUser: { uid?: number; gid?: number } = asRoot ? nobody : {};
  if (asRoot) await chown(folder, nobody.uid, nobody.gid);
  const data = join(folder, 'data');
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], {
    ...asUser,
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (hba.length > 0) {
    const file = join(data, 'pg_hba.conf');
    await writeFile(file, `${hba.join('\n')}\n${await readFile(file, 'utf8')}`);
  }
  const socketDirectory = socket === undefined ? undefined : join(folder, socket);
  if (socketDirectory !== undefined) {
    await mkdir(socketDirectory, { recursive: true });
    if (asRoot) await chown(socketDirectory, nobody.uid, nobody.gid);
  }
  const port = await freePort();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  let server: ChildProcess | undefined;
  const start = async () => {
    const [command = join(bin, 'postgres'), ...prefix] = [...wrapper, join(bin, 'postgres')];
    const child = spawn(
      command,
      [
        ...prefix,
        '-D',
        data,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${socketDirectory ?? ''}`,
        '-c',
        'fsync=off',
      ],
      { ...asUser, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server = child;
    let output = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output = (output + chunk).slice(-4000);
    });
    await ready(url, child, () => output);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const child = server;
    server = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url,
    port,
    socketDirectory,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`create database ${pg.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    kill: () => halt('SIGQUIT'),
    restart: start,
    async stop() {
      // SIGINT is PostgreSQL's fast shutdown: it ends open sessions instead of waiting for them.
      await halt('SIGINT');
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** Waits until the server takes a query, or fails with its output when it exits or 20 s pass. */
async function ready(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`PostgreSQL exited while starting:\n${output()}`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`PostgreSQL did not take a query within 20 s (${(error as Error).message}):\n${output()}`);
      }
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A service's own database, for its tests: see serviceTestDatabase. */
export interface ServiceTestDatabase {
  /** Why there is no PostgreSQL server here, for describe.skipIf; undefined when there is one. */
  missing: string | undefined;
  /** For beforeAll: starts the cluster and makes the service's database, migrated. Throws in CI without a server. */
  start(): Promise<void>;
  /** For afterAll: stops the cluster and removes its data. */
  stop(): Promise<void>;
  /** The migrated database's URL: DATABASE_URL for the service under test. */
  readonly url: string;
  /** Another database on the same server, empty (its migrations not applied), for what a service does without them. */
  createEmpty(name: string): Promise<string>;
}

/**
 * What a service's test file needs of its database: a throwaway cluster of
 * the machine's PostgreSQL, with one database that the migrator brought up
 * to the service's migrations, as the deploy does before a revision serves.
 */
export function serviceTestDatabase(root: string, service: string, migrations = 'migrations'): ServiceTestDatabase {
  const found = findPostgres();
  let server: TestPostgres | undefined;
  let url: string | undefined;
  return {
    missing: 'missing' in found ? found.missing : undefined,
    async start() {
      if ('missing' in found) {
        // CI installs the server: there, a missing one fails instead of skipping.
        if (process.env.CI === 'true') throw new Error(found.missing);
        return;
      }
      server = await startPostgres(found.bin);
      url = await server.createDatabase(service.replaceAll('-', '_'));
      await migrate(url, { root, folder: join('services', service, migrations) });
    },
    stop: async () => server?.stop(),
    get url() {
      if (url === undefined) throw new Error('serviceTestDatabase: start() it first, in beforeAll');
      return url;
    },
    async createEmpty(name) {
      if (server === undefined) throw new Error('serviceTestDatabase: start() it first, in beforeAll');
      return server.createDatabase(name);
    },
  };
}

/**
 * The same as serviceTestDatabase, on PostgreSQL in this process (PGlite,
 * served over the wire as `pnpm dev` serves it): nothing to install, for a
 * service's first tests. Each database is an instance of its own.
 */
export function embeddedTestDatabase(root: string, service: string, migrations = 'migrations'): ServiceTestDatabase {
  const instances: EmbeddedPostgres[] = [];
  let url: string | undefined;
  const instance = async () => {
    const embedded = await startEmbeddedPostgres({ maxConnections: 10 });
    instances.push(embedded);
    return embedded.url;
  };
  return {
    missing: undefined,
    async start() {
      url = await instance();
      await migrate(url, { root, folder: join('services', service, migrations) });
    },
    stop: async () => {
      await Promise.all(instances.splice(0).map((embedded) => embedded.close()));
    },
    get url() {
      if (url === undefined) throw new Error('embeddedTestDatabase: start() it first, in beforeAll');
      return url;
    },
    createEmpty: () => instance(),
  };
}
