#!/usr/bin/env node
// Lays out what a service's image ships, from the bundles `pnpm build` made:
//   <out>/runsd/runsd.js, preload.js and chunks     the entrypoint (tools/runsd/dist as it is)
//   <out>/service/main.js (+ .map)                 the service
//   <out>/package.json                             {"type": "module"}: the bundles are ESM
// The Dockerfile runs it, and so does the test that starts this exact layout.
import { copyFile, cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const services = ['tacoserver', 'tacoclient'];
const [service, out] = process.argv.slice(2);
if (!services.includes(service) || out === undefined) {
  process.stderr.write(`usage: assemble-image.mjs <${services.join('|')}> <out dir>\n`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const copies = [
  [join(root, 'services', service, 'dist/main.js'), join(out, 'service/main.js')],
  [join(root, 'services', service, 'dist/main.js.map'), join(out, 'service/main.js.map')],
];
await mkdir(join(out, 'service'), { recursive: true });
// runsd loads parts of itself on demand (the metadata client, undici), so its whole dist goes.
await cp(join(root, 'tools/runsd/dist'), join(out, 'runsd'), { recursive: true }).catch((error) => {
  process.stderr.write(`assemble-image: tools/runsd/dist is missing (${error.code}); run \`pnpm build\` first\n`);
  process.exit(1);
});
for (const [from, to] of copies) {
  await copyFile(from, to).catch((error) => {
    process.stderr.write(`assemble-image: ${from} is missing (${error.code}); run \`pnpm build\` first\n`);
    process.exit(1);
  });
}
await writeFile(join(out, 'package.json'), `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
process.stdout.write(`assemble-image: ${service} laid out in ${out}\n`);
