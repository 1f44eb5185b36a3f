// The command the image runs, read from deploy/Dockerfile's last stage: its ENTRYPOINT and ENV,
// with /app (where the image keeps the layout) moved to wherever a layout was assembled and
// `node` to a given Node binary. assemble-image, the image test and `pnpm bench` start the
// service this way, so none of them can drift from what Cloud Run starts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dockerfile = fileURLToPath(new URL('./Dockerfile', import.meta.url));

/**
 * @param {string} layout  a folder assemble-image.mjs laid out
 * @param {string} node    the Node binary to run it with
 * @returns {{ command: string, args: string[], env: Record<string, string> }}
 */
export function imageCommand(layout, node) {
  const lines = readFileSync(dockerfile, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim());
  const lastStage = lines.findLastIndex((line) => /^FROM\s/i.test(line));
  const stage = lines.slice(lastStage);
  const entrypoint = stage.findLast((line) => /^ENTRYPOINT\s/i.test(line));
  if (entrypoint === undefined) throw new Error(`${dockerfile} has no ENTRYPOINT in its last stage`);
  const argv = JSON.parse(entrypoint.replace(/^ENTRYPOINT\s+/i, ''));
  const place = (value) => inLayout(value, layout);
  const env = {};
  for (const line of stage.filter((candidate) => /^ENV\s/i.test(candidate))) {
    for (const [, key, value] of line.replace(/^ENV\s+/i, '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) {
      env[key] = place(value);
    }
  }
  const [first, ...rest] = argv.map((arg) => (arg === 'node' ? node : place(arg)));
  return { command: first, args: rest, env };
}

/**
 * The migration job's command in the image of a service with a database (assemble-image puts it there):
 * what the deploy's `gcloud run jobs deploy --command --args` sets, in place of the ENTRYPOINT.
 */
export const migrationJob = ['node', '/app/migrate/migrate.js'];

/**
 * The migration job's command, placed as imageCommand places the ENTRYPOINT.
 * @param {string} layout  a folder assemble-image.mjs laid out
 * @param {string} node    the Node binary to run it with
 * @returns {{ command: string, args: string[] }}
 */
export function migrationJobCommand(layout, node) {
  const [first, ...rest] = migrationJob.map((arg) => (arg === 'node' ? node : inLayout(arg, layout)));
  return { command: first, args: rest };
}

/** A path in the image (/app/...) moved to where the layout is. */
function inLayout(value, layout) {
  return value.replace(/^\/app(?=\/|$)/, layout);
}
