import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { Service } from './services.js';

/** Where a service's secret values live on a laptop: git-ignored, one file per service, in .env syntax. */
export const localSecretsFile = '.secrets.local';

/**
 * The values of a service's `secrets` off Cloud Run, where Secret Manager
 * is not at hand: from the environment, else from `services/<name>/.secrets.local`.
 * A secret found in neither, or only empty, is named in `missing`, so the run can refuse to
 * start a service that would only fail later.
 */
export function localSecrets(
  root: string,
  service: Service,
  env: NodeJS.ProcessEnv,
): { values: Record<string, string>; missing: string[] } {
  const names = Object.keys(service.secrets);
  if (names.length === 0) return { values: {}, missing: [] };
  let file: Record<string, string | undefined> = {};
  try {
    file = parseEnv(readFileSync(join(root, service.dir, localSecretsFile), 'utf8')) as Record<
      string,
      string | undefined
    >;
  } catch {
    // No file: every value must come from the environment.
  }
  const values: Record<string, string> = {};
  const missing: string[] = [];
  // An empty value (`PAYMENT_KEY=`) is a secret not yet filled in: missing, as if unset.
  const given = (value: string | undefined) => (value === '' ? undefined : value);
  for (const name of names) {
    const value = given(env[name]) ?? given(file[name]);
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  return { values, missing };
}

/**
 * Every service's local secret values, by service name, and what is missing,
 * as the lines to print before refusing to start anything (undefined when
 * nothing is). The dev runner and the emulator both start services this way.
 */
export function projectSecrets(
  root: string,
  services: readonly Service[],
  env: NodeJS.ProcessEnv,
): { values: Record<string, Record<string, string>>; missing: string | undefined } {
  const found = services.map((service) => ({ service, ...localSecrets(root, service, env) }));
  return {
    values: Object.fromEntries(found.map(({ service, values }) => [service.name, values])),
    missing: describeMissingSecrets(found.map(({ service, missing }) => ({ service, names: missing }))),
  };
}

/** One line for the services whose secrets are missing, or undefined when none are. */
function describeMissingSecrets(
  missing: readonly { service: Service; names: readonly string[] }[],
): string | undefined {
  const lines = missing
    .filter(({ names }) => names.length > 0)
    .map(
      ({ service, names }) =>
        `${service.name} needs ${names.map((name) => `${name} (${service.secrets[name]})`).join(', ')}: set ${names.length === 1 ? 'it' : 'them'} in ${join(service.dir, localSecretsFile)} or the environment`,
    );
  return lines.length === 0 ? undefined : lines.join('\n');
}
