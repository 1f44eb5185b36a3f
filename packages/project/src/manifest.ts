import { z } from 'zod';

/**
 * `services/<name>/service.json`: everything the tools need to know about a
 * service besides its code. The dev runner, the emulator, the image build
 * and the deploy all read it, and nothing else lists the services.
 */

/**
 * Cloud Run's rule for service names, with its 49-character limit: that also
 * keeps `<service>-<project number>` and `<service>-<hash>-<region code>`
 * within the 63 characters of a DNS label, so runsd can always build the URL.
 */
export const serviceNamePattern = /^[a-z](?:[a-z\d-]{0,47}[a-z\d])?$/;
export const serviceNameRule = 'lowercase letters, digits and hyphens, starting with a letter, at most 49 characters';

/**
 * What is wrong with `name` as a service's name (its folder's), or undefined. Beyond Cloud Run's
 * rule, a few names already mean something: to runsd, which leaves them to the system, and to the
 * build and test tools, which would take a service's folder of that name for one of theirs.
 */
export function serviceNameProblem(name: string): string | undefined {
  if (!serviceNamePattern.test(name)) return `"${name}" is not a Cloud Run service name: ${serviceNameRule}`;
  if (name === 'localhost' || name === 'metadata') {
    return `"${name}" is a host name runsd leaves to the system (${name === 'metadata' ? "on Cloud Run, the metadata server's" : 'this machine'}), so http://${name}/ would never reach the service; pick another name`;
  }
  if (['test', 'dist', 'coverage'].includes(name)) {
    return `"${name}" is a folder name the build and test tools treat as theirs, so they would skip or delete the service; pick another name`;
  }
  return undefined;
}

const serviceName = z.string().regex(serviceNamePattern, { message: `must be a service name: ${serviceNameRule}` });

/**
 * Variables a manifest's `env` and `secrets` cannot set, and what sets them: Cloud Run refuses to
 * deploy a service that sets its own, and the tools set the others from a field whose rules they
 * would otherwise go around (CORS_ORIGINS in a private service's env, say).
 */
const setElsewhere: Record<string, string> = {
  PORT: 'is set by Cloud Run itself',
  K_SERVICE: 'is set by Cloud Run itself',
  K_REVISION: 'is set by Cloud Run itself',
  K_CONFIGURATION: 'is set by Cloud Run itself',
  CORS_ORIGINS: 'is set from the `cors` field; list the origins there',
  REQUEST_TIMEOUT_SECONDS: 'is set from `cloudRun.timeoutSeconds`; set it there',
  GOOGLE_CLOUD_PROJECT: 'is set by the tools: runsd and the deploy know the project',
  HOST: 'is set by the tools: loopback off Cloud Run, every interface on it',
};
const variableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z\d_]*$/, { message: 'must be an environment variable name: letters, digits and _' })
  .superRefine((name, context) => {
    const reason = Object.hasOwn(setElsewhere, name) ? setElsewhere[name] : undefined;
    if (reason !== undefined) context.addIssue({ code: 'custom', message: reason });
  });

/** Cloud Run's --concurrency when a manifest sets none. */
export const cloudRunDefaultConcurrency = 80;

/**
 * The most connections an instance's pool opens unless its manifest says
 * otherwise. One Node process gains little from more concurrent queries than
 * this, and Cloud SQL's smallest tiers allow 25 connections (db-f1-micro) and
 * 50 (db-g1-small) in all, shared by every instance of every service.
 */
export const defaultPoolCap = 10;

/** `*`, or an origin as a browser sends it in `Origin`: `https://app.example.com`, `http://localhost:5173`. */
function isOrigin(text: string): boolean {
  return (
    text === '*' || (URL.canParse(text) && /^https?:$/.test(new URL(text).protocol) && new URL(text).origin === text)
  );
}

export const manifestSchema = z
  .strictObject({
    $schema: z.string().optional().describe('The JSON Schema of this file, for editors.'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .describe('The local port for `pnpm dev` and `pnpm start`. On Cloud Run the service listens on $PORT.'),
    serves: z
      .array(
        z
          .string()
          .regex(/^[A-Z][A-Za-z\d]*$/, { message: 'must be a service name from the definitions, such as TacoService' }),
      )
      .default([])
      .describe('The APIs it serves: service names from packages/definitions, such as "TacoService".'),
    basePath: z
      .string()
      .regex(/^\/([\w.~-]+\/)*$/, { message: 'must start and end with /, such as /oto/' })
      .default('/oto/')
      .describe('Where the APIs are mounted.'),
    calls: z
      .array(serviceName)
      .default([])
      .describe(
        'The services it calls, by short name (http://<name>/). On Cloud Run it may call exactly these: the deploy grants its account roles/run.invoker on each.',
      ),
    public: z
      .boolean()
      .default(false)
      .describe('true: anyone may call it (--allow-unauthenticated). Private by default.'),
    invokers: z
      .array(
        z.string().regex(/^(user|group|serviceAccount|domain):\S+$/, {
          message: 'must be a principal: user:…, group:…, serviceAccount:… or domain:…',
        }),
      )
      .default([])
      .describe('Who else may call it, besides the services that list it in calls: user:…, group:…, serviceAccount:….'),
    cors: z
      .strictObject({
        origins: z
          .array(
            z.string().refine(isOrigin, {
              message:
                'must be an origin such as https://app.example.com: a scheme and a host, and a port if not the default; no path. Or * for any page',
            }),
          )
          .min(1)
          .describe('Pages on these origins may call the APIs from a browser, or * for any page.'),
      })
      .optional()
      .describe(
        'Lets browsers on other origins call its APIs (CORS). Public services only: a browser sends its preflight OPTIONS without a token, which Cloud Run refuses for a private service.',
      ),
    env: z
      .record(variableName, z.string())
      .default({})
      .describe('Plain environment variables, for dev and for Cloud Run.'),
    secrets: z
      .record(
        variableName,
        z
          .string()
          .regex(/^[\w-]{1,255}:(latest|\d+)$/, {
            message: 'must be a Secret Manager reference: <secret>:<version>, such as db-password:latest',
          })
          // Secret Manager allows it, but gcloud would read the name as a flag.
          .refine((reference) => !reference.startsWith('-'), {
            message: 'must not start with "-", which gcloud would read as a flag',
          }),
      )
      .default({})
      .describe(
        'Environment variables from Secret Manager: NAME → "<secret>:<version>". Locally, the values come from services/<name>/.secrets.local or the environment.',
      ),
    database: z
      .strictObject({
        migrations: z
          .string()
          .regex(/^[\w-]+(\/[\w-]+)*$/, { message: "must be a folder inside the service's own, such as migrations" })
          .default('migrations')
          .describe(
            "Its schema: NNNN_<what>.sql files, plain SQL, numbered from 0001 with no gap and applied in that order. A folder inside the service's own; default migrations.",
          ),
        pool: z
          .number()
          .int()
          .min(1)
          .max(100)
          .optional()
          .describe(
            `Connections in each instance's pool. By default the lesser of cloudRun.concurrency (Cloud Run's ${cloudRunDefaultConcurrency} when unset) and ${defaultPoolCap}.`,
          ),
      })
      .optional()
      .describe(
        "One PostgreSQL database of its own, which no other service reads (another service's data is reached through its API). {} for the defaults.",
      ),
    cloudRun: z
      .strictObject({
        memory: z
          .string()
          .regex(/^\d+(Mi|Gi)$/, { message: 'must be a size such as 512Mi or 1Gi' })
          .optional()
          .describe('--memory'),
        cpu: z
          .union([
            z.number().min(0.08).max(8),
            z.string().regex(/^\d+m$/, { message: 'must be millicores such as 500m' }),
          ])
          .optional()
          .describe('--cpu: a number of CPUs (0.08 to 8) or millicores such as "500m"'),
        concurrency: z.number().int().min(1).max(1000).optional().describe('--concurrency'),
        minInstances: z.number().int().min(0).max(1000).optional().describe('--min-instances'),
        maxInstances: z.number().int().min(1).max(1000).optional().describe('--max-instances'),
        timeoutSeconds: z.number().int().min(1).max(3600).optional().describe('--timeout, in seconds'),
      })
      .refine(
        ({ minInstances, maxInstances }) =>
          minInstances === undefined || maxInstances === undefined || minInstances <= maxInstances,
        { message: 'minInstances must not exceed maxInstances', path: ['minInstances'] },
      )
      .default({})
      .describe(
        "Cloud Run settings, each passed to gcloud run deploy as its flag; unset ones keep Cloud Run's defaults.",
      ),
  })
  .refine(({ env, secrets }) => Object.keys(secrets).every((name) => !(name in env)), {
    message: 'a variable is in both env and secrets',
    path: ['secrets'],
  })
  .refine(
    ({ database, env, secrets }) => database === undefined || !('DATABASE_URL' in env || 'DATABASE_URL' in secrets),
    {
      message:
        'DATABASE_URL is set by the tools for a service with a database (its own database, in every mode); leave it out of env and secrets',
      path: ['database'],
    },
  )
  .refine((manifest) => manifest.cors === undefined || manifest.public, {
    message:
      'needs "public": true: a browser sends its CORS preflight without a token, and Cloud Run refuses it for a private service before the service sees it',
    path: ['cors'],
  });

export type Manifest = z.output<typeof manifestSchema>;

/** How many connections each instance of a service with a database keeps at most; undefined without one. */
export function databasePoolSize(manifest: Pick<Manifest, 'database' | 'cloudRun'>): number | undefined {
  if (manifest.database === undefined) return undefined;
  return (
    manifest.database.pool ?? Math.min(manifest.cloudRun.concurrency ?? cloudRunDefaultConcurrency, defaultPoolCap)
  );
}

/** The manifest's JSON Schema, which service.json files name in `$schema` so editors complete them. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(manifestSchema, { io: 'input' }),
    title: 'taco-run service manifest',
    description: 'services/<name>/service.json: how the tools run, connect and deploy one service.',
  };
}
