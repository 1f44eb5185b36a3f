import { RpcError } from '@taco-run/rpc';
import { currentTrace, spanRecorder } from '@taco-run/rpc/trace';
import type { Kysely, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { type ShippedMigration, unappliedMigration } from './applied.js';
import { connectionSettings } from './connection.js';
import { databaseFailure } from './errors.js';
import { spanName, summarizeStatement } from './statement.js';

/** What `pnpm generate` writes for a service from its manifest and migrations, beside the row types. */
export interface DatabaseSchema {
  /** The migrations the service ships, in order: it checks each is applied before its first query. */
  migrations: readonly ShippedMigration[];
  /** Connections per instance: the manifest's database.pool, else the lesser of cloudRun.concurrency and 10. */
  poolSize: number;
}

/** Where the database says what happens to it as a whole; pino's logger (the app's `log`) is one. */
export interface DatabaseLog {
  info(message: string): void;
  error(message: string): void;
}

export interface OpenDatabaseOptions extends DatabaseSchema {
  /** postgresql://user:password@host:port/database, as DATABASE_URL holds it. */
  url: string;
  log: DatabaseLog;
  /** How long a query waits for a connection, in ms, before its request answers 503. Default 5000. */
  connectTimeout?: number;
}

/** A service's own database, opened at its first query. */
export interface ServiceDatabase<Tables> {
  /**
   * The query builder, over a pool that connects on first use. The first
   * call loads Kysely and node-postgres, so a service that has not queried
   * yet has loaded neither: its cold start is as without a database.
   */
  kysely(): Promise<Kysely<Tables>>;
  /** Ends the pool once its queries are done. */
  close(): Promise<void>;
}

/**
 * Opens a service's database, lazily. Whatever the database does wrong for
 * reasons of its own reaches the caller as the protocol's error, not a 500:
 * a database that is down or unreachable answers 503 `unavailable`, logged
 * once when it goes and once when it is back rather than a stack per request;
 * a database that lacks a migration the service ships answers 503 naming it,
 * checked at the first connection and again after each failure, so that a
 * migrator run later is picked up without a restart.
 */
export function openDatabase<Tables>(options: OpenDatabaseOptions): ServiceDatabase<Tables> {
  let opened: Promise<Kysely<Tables>> | undefined;
  return {
    kysely: async () => {
      opened ??= open<Tables>(options).catch((error: unknown) => {
        opened = undefined;
        throw error;
      });
      return opened;
    },
    close: async () => {
      const pending = opened;
      opened = undefined;
      if (pending !== undefined) await (await pending).destroy();
    },
  };
}

async function open<Tables>(options: OpenDatabaseOptions): Promise<Kysely<Tables>> {
  const { Kysely, PostgresDialect, pg } = await import('./database-driver.js');
  const pool = new pg.Pool({
    ...(await connectionSettings(options.url)),
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeout ?? 5000,
    // A peer that vanished without a word (a crashed machine, a dropped route) is noticed within a minute or so.
    keepAlive: true,
  });
  const health = new Health(options.log);
  // An idle connection whose server went away is dropped by the pool; this keeps its error from ending the process.
  pool.on('error', (error) => health.failed(error));
  const guarded = new GuardedPool(pool, options.migrations, health, databaseName(options.url));
  return new Kysely<Tables>({ dialect: new PostgresDialect({ pool: guarded }) });
}

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1));
  } catch {
    return '';
  }
}

/** Whether the database is reachable, said in the log when that changes. */
class Health {
  #downSince: number | undefined;
  readonly #log: DatabaseLog;

  constructor(log: DatabaseLog) {
    this.#log = log;
  }

  /** The RpcError for a failure, noting an outage; the error itself when it is the query's own fault. */
  failed(error: unknown): unknown {
    const failure = databaseFailure(error);
    if (failure === undefined) return error;
    if (failure.outage && this.#downSince === undefined) {
      this.#downSince = performance.now();
      const reason = error instanceof Error ? error.message : String(error);
      this.#log.error(`${failure.message} (${reason}); its queries answer 503 unavailable until it is back`);
    }
    return new RpcError(failure.code, failure.message);
  }

  /**
   * A query that began at `startedAt` succeeded. Only one begun after the outage was noted says the database is
   * back: one sent before it may have had its answer read just after another connection's failure.
   */
  succeeded(startedAt: number): void {
    if (this.#downSince === undefined || startedAt < this.#downSince) return;
    const seconds = ((performance.now() - this.#downSince) / 1000).toFixed(1);
    this.#downSince = undefined;
    this.#log.info(`the database is back after ${seconds} s`);
  }
}

/**
 * node-postgres's pool as Kysely takes it, with each connection checked
 * against the shipped migrations before its first use, each failure turned
 * into the protocol's error, and each query a span when telemetry is on.
 */
class GuardedPool implements PostgresPool {
  #migrationsChecked: Promise<void> | undefined;

  constructor(
    readonly pool: pg.Pool,
    readonly migrations: readonly ShippedMigration[],
    readonly health: Health,
    readonly database: string,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.health.failed(error);
    }
    // A checked-out client's connection error has no listener of the pool's: without one it would end the process.
    let broken = false;
    const onError = (error: Error) => {
      broken = true;
      this.health.failed(error);
    };
    client.on('error', onError);
    const release = () => {
      client.off('error', onError);
      client.release(broken);
    };
    try {
      await this.#checkMigrations(client);
    } catch (error) {
      release();
      throw error;
    }
    return {
      query: ((text: unknown, parameters?: unknown[]) => {
        // Kysely streams through a cursor object, passed through as it is.
        if (typeof text !== 'string') return client.query(text as never);
        // Back once a query succeeds: a connection taken from the pool may be one whose server has just gone.
        const startedAt = performance.now();
        return this.#query(client, text, parameters).then(
          (result) => {
            this.health.succeeded(startedAt);
            return result;
          },
          (error: unknown) => {
            if (databaseFailure(error)?.outage) broken = true;
            throw this.health.failed(error);
          },
        );
      }) as unknown as PostgresPoolClient['query'],
      release,
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }

  /** Once per pool while it passes; again at the next connection after it fails. */
  #checkMigrations(client: pg.PoolClient): Promise<void> {
    this.#migrationsChecked ??= (async () => {
      const missing = await unappliedMigration(client, this.migrations).catch((error: unknown) => {
        throw this.health.failed(error);
      });
      if (missing !== undefined) throw new RpcError('unavailable', `the database is not ready: ${missing}`);
    })().catch((error: unknown) => {
      this.#migrationsChecked = undefined;
      throw error;
    });
    return this.#migrationsChecked;
  }

  async #query(client: pg.PoolClient, text: string, parameters: unknown[] | undefined) {
    const recorder = spanRecorder();
    if (recorder === undefined) return client.query(text, parameters);
    const summary = summarizeStatement(text);
    const span = recorder.startClient(spanName(summary), currentTrace(), () => {
      const attributes: Record<string, string | number> = {
        'db.system': 'postgresql',
        'db.system.name': 'postgresql',
        'db.namespace': this.database,
        'db.operation.name': summary.operation,
        'db.query.text': text,
      };
      if (summary.table !== undefined) attributes['db.collection.name'] = summary.table;
      return attributes;
    });
    try {
      const result = await client.query(text, parameters);
      span.end({});
      return result;
    } catch (error) {
      const sqlState = (error as { code?: unknown }).code;
      span.end({ code: typeof sqlState === 'string' ? sqlState : (databaseFailure(error)?.code ?? 'internal') });
      throw error;
    }
  }
}
