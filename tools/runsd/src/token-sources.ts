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

/**
 * On a laptop pointed at a real run.app URL: the developer's own identity,
 * from gcloud. Its audience is gcloud's client, not the service, so it is
 * good at every service the developer may call: it goes only where the
 * developer said it may (RUNSD_USER_TOKEN_ORIGINS).
 */
export const gcloudTokens: TokenSource = () => gcloud(['auth', 'print-identity-token']);

/**
 * The same through a service account the developer may impersonate
 * (RUNSD_IMPERSONATE): a token minted for one audience, which the service it
 * is sent to cannot replay against another.
 */
export function impersonatedTokens(serviceAccount: string): TokenSource {
  return (audience) =>
    gcloud([
      'auth',
      'print-identity-token',
      `--impersonate-service-account=${serviceAccount}`,
      `--audiences=${audience}`,
      '--include-email',
    ]);
}

function gcloud(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // Loaded on a laptop's first token: the preload is in every cold start, and on Cloud Run this never runs.
    process
      .getBuiltinModule('node:child_process')
      .execFile('gcloud', args, { timeout: 10_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`gcloud ${args.slice(0, 2).join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve(stdout.trim());
      });
  });
}

export type TokenSourceName = 'metadata' | 'fixed' | 'gcloud' | 'gcloud-impersonation';

export interface ChosenSource {
  name: TokenSourceName;
  source: TokenSource;
  /** Whether a run.app target may be sent this source's tokens. */
  mayReceive(target: string): boolean;
}

/**
 * Which source runsd uses: a fixed token wins, then the metadata server on
 * Cloud Run, then, on a laptop, gcloud: impersonating RUNSD_IMPERSONATE's
 * account when it is set, else the developer's own token, for the origins in
 * RUNSD_USER_TOKEN_ORIGINS only.
 */
export function chooseTokenSource(env: NodeJS.ProcessEnv, onCloudRun: boolean): ChosenSource {
  const anywhere = () => true;
  const fixed = env.CLOUD_RUN_ID_TOKEN;
  if (fixed !== undefined && fixed.trim() !== '') {
    return { name: 'fixed', source: fixedToken(fixed.trim()), mayReceive: anywhere };
  }
  if (onCloudRun) return { name: 'metadata', source: metadataTokens, mayReceive: anywhere };
  const account = env.RUNSD_IMPERSONATE?.trim();
  if (account) return { name: 'gcloud-impersonation', source: impersonatedTokens(account), mayReceive: anywhere };
  const origins = new Set(
    (env.RUNSD_USER_TOKEN_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim().replace(/\/+$/, ''))
      .filter(Boolean),
  );
  return { name: 'gcloud', source: gcloudTokens, mayReceive: (target) => origins.has(new URL(target).origin) };
}
