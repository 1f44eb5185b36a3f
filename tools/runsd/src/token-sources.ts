import { execFile } from 'node:child_process';
import { commonJs } from './commonjs.js';
import type { TokenSource } from './token-cache.js';

/**
 * On Cloud Run: the service account's identity token for the audience, from
 * the metadata server. gcp-metadata honours GCE_METADATA_HOST, which is how
 * the local emulator stands in for it.
 */
export const metadataTokens: TokenSource = async (audience) => {
  // Imported on the first token, not at start-up: a local-mode app never pays for it.
  const { instance } = commonJs(await import('gcp-metadata'));
  return String(
    await instance({ property: 'service-accounts/default/identity', params: { audience, format: 'full' } }),
  );
};

/** CLOUD_RUN_ID_TOKEN: one fixed token, for debugging. */
export function fixedToken(token: string): TokenSource {
  return async () => token;
}

/** On a laptop pointed at a real run.app URL: the developer's own identity, from gcloud. */
export const gcloudTokens: TokenSource = () =>
  new Promise((resolve, reject) => {
    execFile('gcloud', ['auth', 'print-identity-token'], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`gcloud auth print-identity-token failed: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });

export type TokenSourceName = 'metadata' | 'fixed' | 'gcloud';

/** Which source runsd uses: a fixed token wins, then the metadata server on Cloud Run, then gcloud. */
export function chooseTokenSource(
  env: NodeJS.ProcessEnv,
  onCloudRun: boolean,
): { name: TokenSourceName; source: TokenSource } {
  const fixed = env.CLOUD_RUN_ID_TOKEN;
  if (fixed !== undefined && fixed.trim() !== '') return { name: 'fixed', source: fixedToken(fixed.trim()) };
  return onCloudRun ? { name: 'metadata', source: metadataTokens } : { name: 'gcloud', source: gcloudTokens };
}
