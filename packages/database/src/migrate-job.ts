// The image's migration job, which `pnpm deploy:all` runs as a Cloud Run job from the service's own image
// before its new revision takes traffic: `node /app/migrate/migrate.js` applies the migrations the image
// ships (/app/migrations) to DATABASE_URL, under the service's account. It says what it did in Cloud
// Logging's JSON lines, and exits 1 when a migration stops, so that the deploy stops there too.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError, migrate } from './migrate.js';

function log(severity: 'INFO' | 'ERROR', message: string): void {
  process.stdout.write(`${JSON.stringify({ severity, message })}\n`);
}

const url = process.env.DATABASE_URL;
if (url === undefined || url === '') {
  log('ERROR', 'migrate: DATABASE_URL is not set; the deploy sets it on the job, as on the service');
  process.exit(2);
}
// The layout beside this file: <layout>/migrate/migrate.js and <layout>/migrations/NNNN_<what>.sql.
const layout = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  const applied = await migrate(url, {
    root: layout,
    folder: 'migrations',
    onApplied: (file) => log('INFO', `migrate: applied ${file}`),
  });
  log(
    'INFO',
    applied.length === 0
      ? 'migrate: the database already has every migration'
      : `migrate: applied ${applied.length} migration${applied.length === 1 ? '' : 's'}`,
  );
} catch (error) {
  // A MigrationError names the file and PostgreSQL's message; anything else is the connection's own.
  const reason = error instanceof MigrationError ? error.message : `cannot reach the database: ${String(error)}`;
  log('ERROR', `migrate: ${reason}; the deploy stops here and the running revision keeps serving`);
  process.exitCode = 1;
}
