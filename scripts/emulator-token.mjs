#!/usr/bin/env node
// `pnpm --silent emulator:token`: an identity token for tacoclient, as the developer
// running `pnpm dev:cloud` — the local stand-in for `gcloud auth print-identity-token`.
import { readFile } from 'node:fs/promises';

let state;
try {
  state = JSON.parse(await readFile('.cloud-emulator.json', 'utf8'));
} catch {
  process.stderr.write('emulator:token: no emulator is running here; start one with `pnpm dev:cloud`\n');
  process.exit(1);
}
const url = `http://${state.tokenHost}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${encodeURIComponent(state.audience)}&format=full`;
try {
  const response = await fetch(url, { headers: { 'metadata-flavor': 'Google' } });
  if (!response.ok) throw new Error(`the emulator answered ${response.status}`);
  process.stdout.write(`${await response.text()}\n`);
} catch (error) {
  process.stderr.write(
    `emulator:token: cannot get a token from the emulator (${error.message}); is \`pnpm dev:cloud\` still running?\n`,
  );
  process.exit(1);
}
