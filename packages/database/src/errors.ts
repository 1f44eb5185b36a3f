import type { Code } from '@taco-run/rpc';

/** What a failed query or connection means to the caller of the request it was made for. */
export interface DatabaseFailure {
  code: Code;
  /** Said to the caller and in the log; it names no host, user or value. */
  message: string;
  /** The connection is gone or never came: the database is down, not the query wrong. */
  outage: boolean;
}

/** Node's socket errors that mean the server is not there (or not any more). */
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * PostgreSQL's SQLSTATEs (Appendix A of its manual) that are the server's state, not the query's fault:
 * class 08 (connection exception), 53300 (too many connections), 57P01–57P03 (shutting down, crashed,
 * starting).
 */
function isServerState(sqlState: string): boolean {
  return sqlState.startsWith('08') || sqlState === '53300' || /^57P0[1-3]$/.test(sqlState);
}

/**
 * The protocol's answer to a database error, for the errors that are not a
 * bug in the service's own SQL: the database down or unreachable, no free
 * connection in time, a statement cancelled by its timeout, a transaction
 * that lost a serialization race. Undefined for anything else (a syntax
 * error, a constraint broken), which stays a 500 with its stack in the log.
 */
export function databaseFailure(error: unknown): DatabaseFailure | undefined {
  if (!(error instanceof Error)) return undefined;
  // cloud-sql.ts: an IAM login without its access token cannot log in, however well the database is.
  if (error.name === 'AccessTokenError') {
    return { code: 'unavailable', message: 'the database cannot be logged in to: no access token', outage: true };
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (socketCodes.has(code) || (code.length === 5 && isServerState(code))) {
      return { code: 'unavailable', message: 'the database is unavailable', outage: true };
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return { code: 'unavailable', message: "the database's host name does not resolve", outage: true };
    }
    if (code === '57014') {
      return { code: 'deadline_exceeded', message: 'the query was cancelled by its timeout', outage: false };
    }
    if (code === '40001' || code === '40P01') {
      return { code: 'aborted', message: 'the transaction conflicted with another; try again', outage: false };
    }
  }
  // node-postgres says these in words only.
  if (error.message === 'timeout exceeded when trying to connect') {
    return { code: 'unavailable', message: 'no database connection came free in time', outage: false };
  }
  if (/^Connection terminated|is not queryable|^Client was closed/.test(error.message)) {
    return { code: 'unavailable', message: 'the database is unavailable', outage: true };
  }
  if (error.message === 'Query read timeout') {
    return { code: 'deadline_exceeded', message: 'the database did not answer the query in time', outage: false };
  }
  return undefined;
}
