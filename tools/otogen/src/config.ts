import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultTarget, type Target } from './generate.js';

/** otogen.config.json: the definitions to read and where each generated package goes. */
export interface Config {
  targets: Target[];
}

/** A problem with otogen.config.json, not a bug: said in one line, without a stack. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The config named by `given`, else otogen.config.json if there is one, else the default target. */
export async function loadConfig(root: string, given?: string): Promise<Config> {
  const path = given ?? 'otogen.config.json';
  let text: string;
  try {
    text = await readFile(join(root, path), 'utf8');
  } catch {
    if (given === undefined) {
      if (!existsSync(join(root, defaultTarget.definitions[0] ?? ''))) {
        throw new ConfigError(
          `no ${defaultTarget.definitions[0]} here; run otogen from the project's root or pass --config`,
        );
      }
      return { targets: [defaultTarget] };
    }
    throw new ConfigError(`cannot read ${path}`);
  }
  let config: Partial<Config>;
  try {
    config = JSON.parse(text) as Partial<Config>;
  } catch (error) {
    throw new ConfigError(`${path} is not JSON: ${(error as Error).message}`);
  }
  if (
    !Array.isArray(config.targets) ||
    config.targets.some(
      (t) =>
        !Array.isArray(t.definitions) ||
        typeof t.out !== 'string' ||
        (t.renderers !== undefined &&
          (!Array.isArray(t.renderers) || t.renderers.some((renderer) => typeof renderer !== 'string'))),
    )
  ) {
    throw new ConfigError(
      `${path} must be {"targets": [{"definitions": ["file.ts"], "out": "folder", "renderers": ["optional/renderer.ts"]}]}`,
    );
  }
  return config as Config;
}
