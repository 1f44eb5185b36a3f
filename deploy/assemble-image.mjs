#!/usr/bin/env node
// Lays out what a service's image ships, from the bundles `pnpm build` made:
//   <out>/runsd/runsd.js, preload.js and chunks     the entrypoint (tools/runsd/dist as it is)
//   <out>/service/main.js, its map and any chunks  the service (services/<name>/dist as it is)
//   <out>/package.json                             {"type": "module"}: the bundles are ESM
// The Dockerfile runs it, and so does the test that starts this exact layout.
import { existsSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [service, out] = process.argv.slice(2);
const root = fileURLToPath(new URL('..', import.meta.url));
if (service === undefined || out === undefined || !/^[a-z][a-z\d-]*$/.test(service)) {
  process.stderr.write('usage: assemble-image.mjs <service> <out dir>   (a folder of services/)\n');
  process.exit(2);
}
if (!existsSync(join(root, 'services', service, 'service.json'))) {
  process.stderr.write(`assemble-image: there is no services/${service}/service.json; is "${service}" a service?\n`);
  process.exit(2);
}
// Both dist folders go whole: runsd loads parts of itself on demand (the metadata client, undici),
// and a service's bundle may load chunks of its own.
for (const [from, to] of [
  [join(root, 'tools/runsd/dist'), join(out, 'runsd')],
  [join(root, 'services', service, 'dist'), join(out, 'service')],
]) {
  await cp(from, to, { recursive: true }).catch((error) => {
    process.stderr.write(`assemble-image: ${from} is missing (${error.code}); run \`pnpm build\` first\n`);
    process.exit(1);
  });
}
await writeFile(join(out, 'package.json'), `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
process.stdout.write(`assemble-image: ${service} laid out in ${out}\n`);
