import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** PostgreSQL in this process (PGlite), served over PostgreSQL's wire protocol on a loopback port. */
export interface EmbeddedPostgres {
  /** postgresql://postgres@127.0.0.1:<port>/postgres: what a service gets as DATABASE_URL. */
  url: string;
  port: number;
  /** Stops serving and closes the database, its data flushed to its folder. */
  close(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Where its data lives, kept between runs; absent, in memory. */
  dataDir?: string;
  /**
   * The connections it takes at once: the pool size of the service it serves. PGlite runs one query at a time;
   * pglite-socket queues the queries of several connections, and refuses (resets) a connection over this limit,
   * so it must be at least the pool's size, or the pool's extra connections fail.
   */
  maxConnections: number;
  /** Default 0: a free one. */
  port?: number;
}

/**
 * Starts PGlite over pglite-socket: no server to install, and a service
 * talks to it with node-postgres as to any PostgreSQL. Loaded only by the
 * tools that need it (the dev runner, the type generator), never by a
 * service, whose bundle it must stay out of.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  const db: PGlite = await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir });
  const server: PGLiteSocketServer = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: options.maxConnections,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const port = Number(server.getServerConn().split(':').at(-1));
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
