import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What a running `pnpm dev:cloud` leaves in the working directory so that
 * `pnpm emulator:token` can ask its metadata server for the developer's token.
 */
export interface EmulatorState {
  /** The developer's metadata server, `127.0.0.1:<port>`. */
  tokenHost: string;
  /**
   * Each service's Cloud Run URL (a token's audience), where it answers on this machine, and its
   * own metadata server, which gives its identity's tokens (`emulator:call --as`).
   */
  services: Record<string, { url: string; localUrl: string; metadataHost: string }>;
  /** The services nothing else calls: the default for a token. */
  entries: string[];
}

const stateFile = '.cloud-emulator.json';

export function writeState(root: string, state: EmulatorState): Promise<void> {
  return writeFile(join(root, stateFile), `${JSON.stringify(state, null, 2)}\n`);
}

export function removeState(root: string): Promise<void> {
  return rm(join(root, stateFile), { force: true });
}

/** The state of the emulator running here, or undefined when none is. */
export async function readState(root: string): Promise<EmulatorState | undefined> {
  try {
    return JSON.parse(await readFile(join(root, stateFile), 'utf8')) as EmulatorState;
  } catch {
    return undefined;
  }
}

/**
 * An identity token from one of the emulator's metadata servers: the
 * developer's, as `gcloud auth print-identity-token` gives one for Cloud Run.
 */
export async function identityToken(metadataHost: string, audience: string): Promise<string> {
  const url = `http://${metadataHost}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${encodeURIComponent(audience)}&format=full`;
  const response = await fetch(url, { headers: { 'metadata-flavor': 'Google' } });
  if (!response.ok) throw new Error(`the emulator answered ${response.status}`);
  return response.text();
}
