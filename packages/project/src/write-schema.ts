// `pnpm --filter @taco-run/project schema`: writes service.schema.json from the zod schema
// (then formatted by Biome); a test fails while it is out of date.
import { writeFileSync } from 'node:fs';
import { manifestJsonSchema } from './manifest.js';

const file = new URL('../service.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${file.pathname}\n`);
