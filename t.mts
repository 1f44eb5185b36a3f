import { readFileSync } from 'node:fs';
import { parseDefinitions } from './tools/otogen/src/parser.ts';
const f = 'packages/definitions/src/taco.ts';
console.log(JSON.stringify(parseDefinitions([{ fileName: f, text: readFileSync(f, 'utf8') }]), null, 2));
