import { request } from 'undici';
import type { ServiceView } from './views.js';

/** How long a service that has not answered yet counts as starting rather than unhealthy. */
const startingGrace = 30_000;

/**
 * Asks each service's `GET /healthz` every `interval` ms, one at a time per
 * service (a slow answer is not asked again before it comes), and tells the
 * listener whenever a service's health changes.
 */
export class HealthPoller {
  readonly #services: ServiceView[];
  readonly #interval: number;
  readonly #headers: (service: ServiceView) => Promise<Record<string, string>>;
  /** Each service's next poll. */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #started = Date.now();
  #stopped = false;
  readonly #onChange: (services: ServiceView[]) => void;

  constructor(
    services: ServiceView[],
    {
      interval = 2_000,
      headers = async () => ({}),
      onChange,
    }: {
      interval?: number;
      headers?: (service: ServiceView) => Promise<Record<string, string>>;
      onChange: (services: ServiceView[]) => void;
    },
  ) {
    this.#services = services;
    this.#interval = interval;
    this.#headers = headers;
    this.#onChange = onChange;
    for (const service of services) void this.#poll(service);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
  }

  async #poll(service: ServiceView): Promise<void> {
    if (this.#stopped) return;
    let health: ServiceView['health'];
    let detail: string | undefined;
    try {
      const response = await request(`${service.url}/healthz`, {
        headers: await this.#headers(service),
        headersTimeout: this.#interval,
        bodyTimeout: this.#interval,
      });
      await response.body.dump();
      health = response.statusCode === 200 ? 'healthy' : 'unhealthy';
      if (health === 'unhealthy') detail = `/healthz answered ${response.statusCode}`;
    } catch (error) {
      // Before its first answer a service is starting, not down (the runner may still be building it), for a while.
      health = service.health === 'starting' && Date.now() - this.#started < startingGrace ? 'starting' : 'unhealthy';
      detail = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
    if (health !== service.health || detail !== service.healthDetail) {
      service.health = health;
      if (detail === undefined) delete service.healthDetail;
      else service.healthDetail = detail;
      this.#onChange(this.#services);
    }
    if (this.#stopped) return;
    const timer = setTimeout(() => void this.#poll(service), this.#interval);
    timer.unref();
    this.#timers.set(service.name, timer);
  }
}
