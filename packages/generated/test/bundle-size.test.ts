import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Platform } from 'esbuild';
import { describe, expect, it } from 'vitest';

// Each entry of @taco-run/generated bundled as a user's bundler would (esbuild, minified), so that an import
// that drags Fastify, Ajv or undici into a client fails here, and so does a client that outgrows its budget.

interface Bundled {
  gzipped: number;
  /** The files the bundle was made of, relative to the repository. */
  inputs: string[];
}

async function bundle(entry: string, platform: Platform, external: string[] = []): Promise<Bundled> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`../src/${entry}`, import.meta.url))],
    absWorkingDir: fileURLToPath(new URL('../../..', import.meta.url)),
    bundle: true,
    minify: true,
    format: 'esm',
    platform,
    external,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  return {
    gzipped: gzipSync(output?.contents ?? new Uint8Array()).length,
    inputs: Object.keys(result.metafile.inputs),
  };
}

const dependencies = (inputs: string[]) => inputs.filter((input) => input.includes('node_modules/'));

describe('what each entry of the generated package pulls in', () => {
  it('the web client: fetch only, for any platform, within 4 KB minified and gzipped', async () => {
    // platform neutral: a Node built-in anywhere in it fails the build, as a browser bundle would.
    const web = await bundle('web.ts', 'neutral');
    expect(dependencies(web.inputs)).toEqual([]);
    expect(web.inputs.filter((input) => input.startsWith('packages/rpc/src/')).sort()).toEqual([
      'packages/rpc/src/codes.ts',
      'packages/rpc/src/error.ts',
      'packages/rpc/src/protocol/call.ts',
      'packages/rpc/src/protocol/response.ts',
      'packages/rpc/src/protocol/retry.ts',
      'packages/rpc/src/protocol/shape.ts',
      'packages/rpc/src/web/client.ts',
      'packages/rpc/src/web/index.ts',
    ]);
    expect(web.gzipped, `the web client is ${web.gzipped} bytes gzipped`).toBeLessThanOrEqual(4 * 1024);
  });

  it('the Node client: its own code within 8 KB, with undici left to the user and nothing of the server', async () => {
    const node = await bundle('client.ts', 'node', ['undici']);
    expect(dependencies(node.inputs)).toEqual([]);
    expect(node.inputs.some((input) => input.startsWith('packages/rpc/src/server/'))).toBe(false);
    expect(node.gzipped, `the Node client is ${node.gzipped} bytes gzipped`).toBeLessThanOrEqual(8 * 1024);
  });

  it('the types: nothing but themselves, which compile to nothing', async () => {
    const types = await bundle('types.ts', 'neutral');
    expect(types.inputs).toEqual(['packages/generated/src/types.ts']);
    expect(types.gzipped).toBeLessThan(32);
  });

  it("the schemas: only the schemas, none of the server's libraries", async () => {
    const schemas = await bundle('schemas.ts', 'neutral');
    expect(schemas.inputs).toEqual(['packages/generated/src/schemas.ts']);
  });
});
