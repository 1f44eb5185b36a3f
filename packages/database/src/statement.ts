/** A statement as its span names it: what it does and to which table, never its values. */
export interface StatementSummary {
  /** The first keyword, upper case: `SELECT`, `INSERT`, `BEGIN`. */
  operation: string;
  /** The table it reads or writes first, unquoted; absent when it names none (`BEGIN`, `SELECT 1`). */
  table?: string;
}

const firstWord = /^\s*([a-z]+)/i;
// The table after the keyword that introduces it; a quoted name may hold anything, "" for a quote.
const tableAfter =
  /\b(?:from|into|update|table)\s+((?:"(?:[^"]|"")+"|[a-z_][\w$]*)(?:\.(?:"(?:[^"]|"")+"|[a-z_][\w$]*))?)/i;

/**
 * A statement's operation and table, from its text as sent: the span names
 * OpenTelemetry's database conventions ask for (`SELECT taco_orders`). Only
 * the text's first keyword and first table are read; values travel as
 * parameters and are never in it.
 */
export function summarizeStatement(sql: string): StatementSummary {
  const operation = (firstWord.exec(sql)?.[1] ?? 'SQL').toUpperCase();
  const name = tableAfter.exec(sql)?.[1];
  if (name === undefined) return { operation };
  const table = name
    .split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/)
    .at(-1)
    ?.replace(/^"|"$/g, '')
    .replaceAll('""', '"');
  return table === undefined ? { operation } : { operation, table };
}

/** The span's name: `SELECT taco_orders`, or the operation alone. */
export function spanName({ operation, table }: StatementSummary): string {
  return table === undefined ? operation : `${operation} ${table}`;
}
