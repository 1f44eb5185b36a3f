import { logLevel, parseEnv, port, postgresUrl, serve, start } from '@taco-run/service';
import { z } from 'zod';
import { buildApp } from './app.js';

start('tacoserver', async () => {
  const env = parseEnv({
    PORT: port(8080),
    LOG_LEVEL: logLevel,
    GOOGLE_CLOUD_PROJECT: z.string().optional(),
    DATABASE_URL: postgresUrl,
  });
  const app = buildApp({ logLevel: env.LOG_LEVEL, project: env.GOOGLE_CLOUD_PROJECT, databaseUrl: env.DATABASE_URL });
  await serve(app, { name: 'tacoserver', port: env.PORT });
});
