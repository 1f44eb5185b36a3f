import { regionCodes } from './regions.js';

/** Where a Cloud Run service lives: its region and its project, by number and, when known, by cloud hash. */
export interface ServiceLocation {
  service: string;
  region: string;
  projectNumber: string;
  /** The "cloud hash" of `https://<svc>-<hash>-<code>.a.run.app`; without it, the deterministic form. */
  projectHash?: string | undefined;
}

export type ServiceUrl = { url: string } | { error: string };

/** DNS allows 63 characters in a label, and Cloud Run puts service, project and region code in one. */
const maxLabel = 63;

/**
 * A Cloud Run service's URL, in one of the two forms Cloud Run gives every
 * service: `https://<svc>-<hash>-<region code>.a.run.app` when the cloud hash
 * is known, else `https://<svc>-<project number>.<region>.run.app`. runsd
 * sends requests to it and the emulator answers on it, so both use this.
 */
export function cloudRunUrl({ service, region, projectNumber, projectHash }: ServiceLocation): ServiceUrl {
  if (projectHash !== undefined) {
    const code = regionCodes[region];
    if (code === undefined) {
      return {
        error: `unknown region "${region}": no region code for the hash URL; unset CLOUD_RUN_PROJECT_HASH to use ${service}-<project number>.${region}.run.app`,
      };
    }
    const label = `${service}-${projectHash}-${code}`;
    return label.length > maxLabel ? tooLong(label) : { url: `https://${label}.a.run.app` };
  }
  const label = `${service}-${projectNumber}`;
  return label.length > maxLabel ? tooLong(label) : { url: `https://${label}.${region}.run.app` };
}

function tooLong(label: string): ServiceUrl {
  return { error: `"${label}" is ${label.length} characters, over DNS's 63-character label limit` };
}

/**
 * The id of the service account a service runs as: its own name, which IAM
 * takes when it is 6 to 30 characters. A shorter name gets `-run-sa`
 * added; a longer one is cut, with a digest of the whole name kept so that
 * two long names cannot share an account.
 */
export function serviceAccountId(service: string): string {
  if (service.length >= 6 && service.length <= 30) return service;
  if (service.length < 6) return `${service}-run-sa`;
  // node:crypto is loaded here, not imported: runsd's preload resolves URLs with this module on every cold start.
  const digest = process.getBuiltinModule('node:crypto').createHash('sha256').update(service).digest('hex').slice(0, 4);
  return `${service.slice(0, 25).replace(/-+$/, '')}-${digest}`;
}

/** The email of the account a service runs as, in a project. */
export function serviceAccountEmail(service: string, project: string): string {
  return `${serviceAccountId(service)}@${project}.iam.gserviceaccount.com`;
}
