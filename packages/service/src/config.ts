import { corsOriginsRule, isOrigin, originList } from '@taco-run/rpc/server';
import { z } from 'zod';

/**
 * Configuration comes from environment variables, parsed once at start-up.
 * A bad value stops the service with one line that names the variable.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseEnv<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const value = env[name];
    // A connection URL may hold a password: its value stays out of the message, and so out of the log.
    const shown = value === undefined || name.endsWith('DATABASE_URL') ? '' : `, got ${JSON.stringify(value)}`;
    return `${name} ${issue.message}${shown}`;
  });
  throw new ConfigError(problems.join('; '));
}

/** A TCP port; 0 asks the system for a free one, as tests do. */
export function port(fallback: number) {
  return z
    .string()
    .default(String(fallback))
    .transform((value, context) => {
      const number = Number(value);
      if (!/^\d+$/.test(value) || number > 65535) {
        context.addIssue({ code: 'custom', message: 'must be a port number from 0 to 65535' });
        return z.NEVER;
      }
      return number;
    });
}

/** An http(s) URL. */
export function httpUrl(fallback: string) {
  return z
    .string()
    .default(fallback)
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
      message: 'must be an http:// or https:// URL',
    });
}

/** A whole number of milliseconds. */
export function milliseconds(fallback: number) {
  return z
    .string()
    .default(String(fallback))
    .refine((value) => /^\d+$/.test(value), { message: 'must be a whole number of milliseconds' })
    .transform(Number);
}

/** A whole number of seconds from 1 to 3600, Cloud Run's range for a request's timeout. */
export function seconds(fallback: number) {
  return z
    .string()
    .default(String(fallback))
    .refine((value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 3600, {
      message: 'must be a whole number of seconds from 1 to 3600',
    })
    .transform(Number);
}

/** `true` or `false`; unset, the fallback. */
export function flag(fallback: boolean) {
  return z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true');
}

export const logLevel = z
  .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    message: 'must be one of trace, debug, info, warn, error, fatal, silent',
  })
  .default('info');

/** Comma-separated origins (service.json's `cors.origins`), each `*` or `scheme://host[:port]`; unset, none. */
export const origins = z
  .string()
  .optional()
  .refine((value) => originList(value).every(isOrigin), { message: corsOriginsRule });

/**
 * A PostgreSQL connection URL (postgresql://user:password@host:port/database), required: the dev runner, the
 * test helper and the deploy set DATABASE_URL for a service with a database.
 */
export const postgresUrl = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'is not set: the tools set it for a service with a database (pnpm dev, the deploy); to run its bundle alone, set it to a PostgreSQL of your own'
        : 'must be a postgresql:// URL',
  })
  .refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), {
    message: 'must be a postgresql:// URL',
  });
