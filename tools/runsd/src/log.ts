/**
 * runsd's own lines, on stderr: the app owns stdout. On Cloud Run they are
 * JSON with a severity so Cloud Logging files them right; on a laptop they
 * are plain text. Nothing here is ever given a token.
 */
export type Level = 'INFO' | 'WARNING' | 'ERROR';

const json = process.env.K_SERVICE !== undefined;

export function log(severity: Level, message: string): void {
  process.stderr.write(
    json ? `${JSON.stringify({ severity, message: `runsd: ${message}` })}\n` : `runsd: ${message}\n`,
  );
}
