import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { GeneratedFile } from './generate.js';

/**
 * Generated files go through the project's own formatter (Biome, with the
 * biome.json of the project they are written into, and its safe fixes such
 * as sorted imports), so `pnpm lint` and `generate --check` agree on every
 * byte. The renderers already print tidy code; this settles what they
 * cannot know, such as the line width.
 */
export async function formatFiles(
  files: readonly GeneratedFile[],
  out: string,
  root: string,
): Promise<GeneratedFile[]> {
  const biome = biomeCommand();
  return Promise.all(
    files.map(async (file) =>
      formatted.test(file.path) ? { ...file, text: await format(biome, join(out, file.path), file.text, root) } : file,
    ),
  );
}

/** The kinds of file otogen writes, all of which Biome formats. */
const formatted = /\.(ts|js|json|md)$/;

/** The formatter failed: a setup problem (Biome missing, a broken biome.json), said without a stack. */
export class FormatError extends Error {
  override readonly name = 'FormatError';
}

interface Command {
  file: string;
  args: string[];
}

function format(biome: Command, path: string, text: string, root: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The path is only a name: it picks the language and the biome.json overrides that apply.
    const child = execFile(
      biome.file,
      [...biome.args, 'check', '--write', `--stdin-file-path=${path}`],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new FormatError(`Biome could not format ${path}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(text);
  });
}

/**
 * Biome's native binary, run directly: its npm launcher is a Node script
 * that starts the same binary, and costs about 130 ms per file on its own.
 */
function biomeCommand(): Command {
  let launcher: string;
  try {
    launcher = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
  } catch {
    throw new FormatError('Biome, which formats the generated files, is not installed; run `pnpm install`');
  }
  const fromBiome = createRequire(launcher);
  const executable = process.platform === 'win32' ? 'biome.exe' : 'biome';
  for (const suffix of ['', '-musl']) {
    try {
      const binary = fromBiome.resolve(`@biomejs/cli-${process.platform}-${process.arch}${suffix}/${executable}`);
      if (existsSync(binary)) return { file: binary, args: [] };
    } catch {
      // Not installed for this platform: try the next, then the launcher, which knows every platform.
    }
  }
  return { file: process.execPath, args: [launcher] };
}
