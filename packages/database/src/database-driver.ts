// Kysely and node-postgres, which a service loads at its first query, not at start: in a service's bundle they
// are one chunk of their own, database-driver-<hash>.js, read only then.
import pg from 'pg';

export { Kysely, PostgresDialect } from 'kysely';
export { pg };
