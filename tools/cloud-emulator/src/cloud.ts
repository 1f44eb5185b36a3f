import { cloudRunUrl, serviceAccountEmail } from '@taco-run/project/cloud-run-url';
import { type ServiceProcess, startService } from '@taco-run/project/process';
import { type FrontDoor, startFrontDoor } from './front-door.js';
import { SigningKey } from './jwt.js';
import { type MetadataServer, startMetadataServer } from './metadata.js';
import { identityToken } from './state.js';

export interface CloudServiceOptions {
  name: string;
  /** The service's built bundle: `services/<name>/dist/main.js`. */
  bundle: string;
  /** Emails granted roles/run.invoker on it. */
  invokers: string[];
  /** Deployed with --allow-unauthenticated: anyone may call it. */
  public?: boolean;
  /** Its own environment (service.json's env and secrets), besides what Cloud Run sets. */
  env?: Record<string, string>;
}

export interface CloudOptions {
  services: CloudServiceOptions[];
  /** runsd's built entrypoint: every service runs under it, as in the container. Not needed with `launch`. */
  runsd?: string;
  projectId?: string;
  projectNumber?: string;
  region?: string;
  /** The cloud hash. Set: services call each other at hash URLs; unset: at deterministic URLs. */
  projectHash?: string | undefined;
  /** The person who calls the public service, as `gcloud auth print-identity-token` would identify them. */
  user?: string;
  onLine?: (service: string, line: string, stream: 'stdout' | 'stderr') => void;
  /** Each 401 and 403 of the front door, as a line that says who called whom. */
  onRefusal?: (line: string) => void;
  /**
   * Starts one service with the environment Cloud Run would give it (and the emulator's additions). By default
   * its bundle runs under `runsd` as a process here; the image tests start its container instead.
   */
  launch?: (service: CloudServiceOptions, env: Record<string, string>) => Promise<ServiceProcess>;
}

export interface CloudService {
  name: string;
  /** Its Cloud Run URL in the mode in use. */
  url: string;
  /** Where that URL is reachable on this machine. */
  localUrl: string;
  serviceAccount: string;
  metadata: MetadataServer;
  process: ServiceProcess;
}

export interface Cloud {
  services: Map<string, CloudService>;
  /** One of the services, by name; an error names what is missing. */
  service(name: string): CloudService;
  frontDoor: FrontDoor;
  /** The metadata server that issues the user's tokens. */
  userMetadata: MetadataServer;
  user: string;
  /** An identity token for the user, for a service's URL. */
  userToken(service: string): Promise<string>;
  grant(service: string, email: string): void;
  revoke(service: string, email: string): void;
  /** Every line every service printed, for checks such as "no token in any log". */
  output(): string[];
  close(): Promise<void>;
}

/**
 * Cloud Run on one machine: a metadata server per service (each with its own
 * service account), an authenticating front door, and each service started
 * under runsd in cloud mode, with K_SERVICE, K_REVISION and PORT set as
 * Cloud Run sets them. Service-to-service calls leave runsd for the front
 * door (RUNSD_TARGET_OVERRIDE), which checks the caller's token and role.
 */
export async function startCloud(options: CloudOptions): Promise<Cloud> {
  const {
    projectId = 'taco-project',
    projectNumber = '123456789012',
    region = 'us-central1',
    projectHash,
    user = 'developer@example.com',
  } = options;
  const key = new SigningKey();
  const { runsd } = options;
  const launch =
    options.launch ??
    ((service: CloudServiceOptions, env: Record<string, string>) => {
      if (runsd === undefined) throw new Error('startCloud: give runsd (its built entrypoint) or launch');
      return startService(service.bundle, env, {
        wrapper: [runsd, '--'],
        onLine: (line, stream) => options.onLine?.(service.name, line, stream),
      });
    });
  const started: { close(): Promise<unknown> }[] = [];
  try {
    const userMetadata = await startMetadataServer({
      projectId,
      projectNumber,
      region,
      serviceAccountEmail: user,
      key,
    });
    started.push(userMetadata);
    const frontDoor = await startFrontDoor({
      certsUrl: `http://${userMetadata.host}/certs`,
      onRefusal: options.onRefusal,
    });
    started.push(frontDoor);
    const services = new Map<string, CloudService>();
    for (const service of options.services) {
      const serviceAccount = serviceAccountEmail(service.name, projectId);
      const metadata = await startMetadataServer({
        projectId,
        projectNumber,
        region,
        serviceAccountEmail: serviceAccount,
        key,
      });
      started.push(metadata);
      // What Cloud Run sets, and no more: not GOOGLE_CLOUD_PROJECT, which runsd fills in from metadata. Only
      // LOG_REQUESTS, unless the service's env says otherwise: on Cloud Run its request log holds a line per request,
      // which services leave to it; here nothing else writes one, and dev is where they are read. And
      // RUNSD_PROXY_PORT: on Cloud Run each runsd has a container to itself and a fixed proxy port; here they share
      // one machine, so each takes any free port. HOST: with K_SERVICE set a service would listen on every
      // interface, as on Cloud Run; here the front door is the only way in, so it listens on loopback.
      const env: Record<string, string> = {
        LOG_REQUESTS: 'true',
        RUNSD_PROXY_PORT: '0',
        ...service.env,
        K_SERVICE: service.name,
        K_REVISION: `${service.name}-00001-emu`,
        K_CONFIGURATION: service.name,
        HOST: '127.0.0.1',
        GCE_METADATA_HOST: metadata.host,
        RUNSD_TARGET_OVERRIDE: frontDoor.origin,
      };
      if (projectHash !== undefined) env.CLOUD_RUN_PROJECT_HASH = projectHash;
      const process = await launch(service, env);
      started.push({ close: () => process.stop() });
      const urls = urlsOf(service.name, { projectNumber, region, projectHash });
      const localUrl = await frontDoor.addService({
        name: service.name,
        upstream: process.origin,
        urls: urls.all,
        invokers: new Set(service.invokers),
        public: service.public ?? false,
      });
      services.set(service.name, { name: service.name, url: urls.inUse, localUrl, serviceAccount, metadata, process });
    }
    const service = (name: string) => {
      const found = services.get(name);
      if (found === undefined) throw new Error(`no service ${name} in this cloud`);
      return found;
    };
    const invokable = (name: string) => {
      const found = frontDoor.service(name);
      if (found === undefined) throw new Error(`no service ${name}`);
      return found;
    };
    return {
      services,
      frontDoor,
      userMetadata,
      user,
      service,
      userToken: (name) => identityToken(userMetadata.host, service(name).url),
      grant: (name, email) => void invokable(name).invokers.add(email),
      revoke: (name, email) => void invokable(name).invokers.delete(email),
      output: () => [...services.values()].flatMap((service) => [...service.process.lines, ...service.process.stderr]),
      close: () => closeAll(started),
    };
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

/** Stops in reverse order: services before the servers they call. */
async function closeAll(started: { close(): Promise<unknown> }[]): Promise<void> {
  for (const item of started.reverse()) await item.close().catch(() => undefined);
}

/** A service's URLs in both forms, made by the same function runsd sends requests with, so the two cannot disagree. */
function urlsOf(
  service: string,
  { projectNumber, region, projectHash }: { projectNumber: string; region: string; projectHash?: string | undefined },
) {
  const target = (hash?: string) => {
    const result = cloudRunUrl({ service, region, projectNumber, projectHash: hash });
    if ('error' in result) throw new Error(`cannot make a URL for ${service}: ${result.error}`);
    return result.url;
  };
  const deterministic = target();
  const hashed = projectHash === undefined ? undefined : target(projectHash);
  return { inUse: hashed ?? deterministic, all: hashed === undefined ? [deterministic] : [hashed, deterministic] };
}
