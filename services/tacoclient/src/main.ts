import { httpUrl, logLevel, milliseconds, parseEnv, port, serve, start } from '@taco-run/service';
import { z } from 'zod';
import { buildApp } from './app.js';

start('tacoclient', async () => {
  const env = parseEnv({
    PORT: port(8081),
    // The short name: runsd maps it to localhost:8080 on a laptop and to tacoserver's Cloud Run URL in the cloud.
    TACOSERVER_URL: httpUrl('http://tacoserver/oto/'),
    TACOSERVER_TIMEOUT_MS: milliseconds(10_000),
    LOG_LEVEL: logLevel,
    GOOGLE_CLOUD_PROJECT: z.string().optional(),
  });
  const app = buildApp({
    tacoserverUrl: env.TACOSERVER_URL,
    timeout: env.TACOSERVER_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    project: env.GOOGLE_CLOUD_PROJECT,
  });
  await serve(app, { name: 'tacoclient', port: env.PORT });
});
