import { cloudRunUrl } from '@taco-run/project/cloud-run-url';
import { isKnownRegion } from '@taco-run/project/regions';

/**
 * What runsd knows about where it runs, fixed at start-up. In the cloud the
 * region and project number come from the metadata server; on a laptop the
 * short names map to local URLs.
 */
export type ResolveContext =
  | {
      mode: 'cloud';
      /** The caller's region: `tacoserver` alone means a service here. */
      region: string;
      projectNumber: string;
      /** The "cloud hash" of `https://<svc>-<hash>-<code>.a.run.app`, when known. */
      projectHash?: string | undefined;
    }
  | {
      mode: 'local';
      /** Short name → base URL, e.g. `tacoserver` → `http://localhost:8080`. */
      services: Readonly<Record<string, string>>;
    };

export type Resolution =
  /** Not a short name: the request goes where it was addressed, untouched. */
  | { kind: 'passthrough' }
  /** A short name with its target: the origin to send to, which is also the token's audience. */
  | { kind: 'service'; service: string; target: string }
  /** Meant as a short name but not resolvable: the app gets a 502 with the reason. */
  | { kind: 'error'; reason: string };

const passthrough = { kind: 'passthrough' } as const;
/** Hosts that are never services, whatever the mode. */
const reserved = new Set(['localhost', 'metadata', 'metadata.google.internal']);
/** Cloud Run service names: lowercase letters, digits and hyphens, starting with a letter. */
const serviceName = /^[a-z]([a-z\d-]*[a-z\d])?$/;

/**
 * What a host says about itself, before any context: a short name (with the
 * region it names, if any), or already a resolution. Only a short name needs
 * to know where runsd runs, so everything else is decided while runsd may
 * still be asking the metadata server.
 */
export type Reading =
  | { kind: 'name'; service: string; region: string | undefined }
  | Exclude<Resolution, { kind: 'service' }>;

/**
 * Maps a request's host to where it should go. Pure, so it is tested against
 * a table: `svc`, `svc.<region>` and `svc.<region>.run.internal` are short
 * names; anything else with a dot, IPs and the metadata hosts pass through.
 */
export function resolveHost(host: string, context: ResolveContext): Resolution {
  const reading = readHost(host);
  return reading.kind === 'name' ? resolveName(reading, context) : reading;
}

export function readHost(host: string): Reading {
  const name = stripPort(host).toLowerCase().replace(/\.$/, '');
  if (name === '' || reserved.has(name) || isIp(name)) return passthrough;
  const labels = name.split('.');
  const [service = '', second = ''] = labels;
  let region: string | undefined;
  if (name.endsWith('.run.internal')) {
    if (labels.length !== 4) {
      return { kind: 'error', reason: `"${name}" has too many labels; use <service>.<region>.run.internal` };
    }
    region = second;
    // In local mode too: a typo that works on a laptop would fail only in the cloud.
    if (!isKnownRegion(region)) {
      return { kind: 'error', reason: `unknown region "${region}" in "${name}"` };
    }
  } else if (labels.length === 2) {
    // `api.example` is a real host; only a known region makes it a short name.
    if (!isKnownRegion(second)) return passthrough;
    region = second;
  } else if (labels.length > 2) {
    return passthrough;
  }
  if (!serviceName.test(service)) return passthrough;
  return { kind: 'name', service, region };
}

export function resolveName(
  { service, region }: Extract<Reading, { kind: 'name' }>,
  context: ResolveContext,
): Resolution {
  return context.mode === 'local'
    ? local(service, region, context.services)
    : cloud(service, region ?? context.region, context);
}

function cloud(service: string, region: string, context: Extract<ResolveContext, { mode: 'cloud' }>): Resolution {
  const result = cloudRunUrl({
    service,
    region,
    projectNumber: context.projectNumber,
    projectHash: context.projectHash,
  });
  return 'url' in result ? { kind: 'service', service, target: result.url } : { kind: 'error', reason: result.error };
}

function local(service: string, region: string | undefined, services: Readonly<Record<string, string>>): Resolution {
  // Own entries only: `constructor` and the rest of Object.prototype are no service's address.
  const entry = (key: string) => (Object.hasOwn(services, key) ? services[key] : undefined);
  const target = (region !== undefined ? entry(`${service}.${region}`) : undefined) ?? entry(service);
  if (target === undefined) {
    return {
      kind: 'error',
      reason: `no local address for "${service}"; map it with RUNSD_SERVICES="${service}=http://localhost:<port>" or in runsd.services.json`,
    };
  }
  return { kind: 'service', service, target: new URL(target).origin };
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon !== -1 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

function isIp(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}

/** Whether a target needs a Google identity token: only Cloud Run's own hosts do. */
export function needsToken(target: string): boolean {
  const { protocol, hostname } = new URL(target);
  return protocol === 'https:' && hostname.endsWith('.run.app');
}
