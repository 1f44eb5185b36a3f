import { isKnownRegion } from '@taco-run/project/regions';
import { z } from 'zod';

/** What a deploy needs, from the environment, checked before any gcloud call. */
export interface DeployConfig {
  project: string;
  /** The cloud hash the callers' runsd builds URLs with; when unset, read off the first deployed service's URL. */
  projectHash: string | undefined;
  region: string;
  repository: string;
  /** The image tag: IMAGE_TAG, or the git commit when there is one. */
  tag: string;
  /** The Cloud SQL instance that holds the databases of the services that declare one. */
  cloudSql: { instance: string; tier: string; region: string };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const schema = z.object({
  GOOGLE_CLOUD_PROJECT: z
    .string({ message: 'is required: the project ID, such as my-taco-project' })
    .regex(/^[a-z][a-z\d-]{4,28}[a-z\d]$/, {
      message: 'must be a project ID: 6 to 30 lowercase letters, digits and hyphens, starting with a letter',
    }),
  CLOUD_RUN_PROJECT_HASH: z
    .string()
    .regex(/^[a-z\d]+$/, {
      message: 'must be lowercase letters and digits, the part after "<service>-" in a *.a.run.app URL',
    })
    .optional(),
  REGION: z.string().default('us-central1').refine(isKnownRegion, {
    message: 'must be a Cloud Run region with a known URL code, such as us-central1 or europe-west1',
  }),
  ARTIFACT_REPOSITORY: z
    .string()
    .default('taco-run')
    .refine((value) => /^[a-z]([a-z\d-]{0,61}[a-z\d])?$/.test(value), {
      message: 'must be lowercase letters, digits and hyphens, starting with a letter',
    }),
  IMAGE_TAG: z
    .string()
    .optional()
    .refine((value) => value === undefined || /^[\w][\w.-]{0,127}$/.test(value), {
      message: 'must be a Docker tag: letters, digits, _, . and -',
    }),
  CLOUD_SQL_INSTANCE: z
    .string()
    .default('taco-run')
    .refine((value) => /^[a-z]([a-z\d-]{0,61}[a-z\d])?$/.test(value), {
      message: 'must be a Cloud SQL instance ID: lowercase letters, digits and hyphens, starting with a letter',
    }),
  CLOUD_SQL_TIER: z
    .string()
    .default('db-f1-micro')
    .refine((value) => /^db-[a-z\d-]+$/.test(value), {
      message: 'must be a Cloud SQL machine type, such as db-f1-micro or db-custom-1-3840',
    }),
  CLOUD_SQL_REGION: z
    .string()
    .optional()
    .refine((value) => value === undefined || isKnownRegion(value), {
      message: 'must be a region, such as us-central1 or europe-west1',
    }),
});

/**
 * Reads the settings, naming every missing or bad variable in one error.
 * `cloudhash` is the original tutorial's name for the hash.
 */
export function readConfig(env: NodeJS.ProcessEnv, gitCommit: string | undefined): DeployConfig {
  const input: Record<string, string | undefined> = {
    ...env,
    CLOUD_RUN_PROJECT_HASH: env.CLOUD_RUN_PROJECT_HASH ?? env.cloudhash,
  };
  const result = schema.safeParse(input);
  if (!result.success) {
    const order = Object.keys(schema.shape);
    const lines = result.error.issues
      .map((issue) => ({ name: String(issue.path[0]), message: issue.message }))
      .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
      .map(({ name, message }) => {
        const label = name === 'CLOUD_RUN_PROJECT_HASH' ? 'CLOUD_RUN_PROJECT_HASH (or cloudhash)' : name;
        const value = input[name];
        return `  ${label} ${message}${value === undefined ? '' : ` (got "${value}")`}`;
      });
    throw new ConfigError(`cannot deploy; fix these environment variables first:\n${lines.join('\n')}`);
  }
  const settings = result.data;
  return {
    project: settings.GOOGLE_CLOUD_PROJECT,
    projectHash: settings.CLOUD_RUN_PROJECT_HASH,
    region: settings.REGION,
    repository: settings.ARTIFACT_REPOSITORY,
    tag: settings.IMAGE_TAG ?? gitCommit ?? 'latest',
    cloudSql: {
      instance: settings.CLOUD_SQL_INSTANCE,
      tier: settings.CLOUD_SQL_TIER,
      // Beside the services by default: a socket to another region crosses it on every query.
      region: settings.CLOUD_SQL_REGION ?? settings.REGION,
    },
  };
}
