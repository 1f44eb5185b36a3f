import { declaredApis, loadProject } from '@taco-run/project/services';
import type { Model } from './model.js';

/**
 * A service that serves some of a target's APIs, as its manifest says: where
 * the docs send a caller, and whether the caller needs an identity token.
 */
export interface ApiHost {
  service: string;
  /** Its port under `pnpm dev`. */
  port: number;
  public: boolean;
  /** The target's APIs it serves. */
  apis: string[];
}

/**
 * The project's services that serve any of the model's APIs, from services/<name>/service.json. The
 * manifests are checked against the APIs being generated as well as those already generated (other
 * targets'), so that a service may serve an API its definitions file has only just declared.
 */
export function apiHosts(root: string, model: Model): ApiHost[] {
  const names = new Set(model.services.map((service) => service.name));
  return loadProject(root, { apis: [...names, ...(declaredApis(root) ?? [])] })
    .services.map((service) => ({
      service: service.name,
      port: service.port,
      public: service.public,
      apis: service.serves.filter((api) => names.has(api)),
    }))
    .filter((host) => host.apis.length > 0);
}

/** The hosts that serve one API. */
export function hostsOf(hosts: readonly ApiHost[], api: string): ApiHost[] {
  return hosts.filter((host) => host.apis.includes(api));
}
