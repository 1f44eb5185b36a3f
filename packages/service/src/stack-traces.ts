import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces that name the TypeScript sources, paid for only when a stack
 * is formatted. `node --enable-source-maps` reads and parses every loaded
 * bundle's map at start-up, about 110 ms of a cold start for a service's
 * multi-megabyte map. Here nothing is read until an error's stack is first
 * asked for; then each bundle's `.map` is parsed once, and every frame in it
 * is written as `packages/service/src/app.ts:40:7`, the path from the
 * repository's root (the bundle records where it was built, in the map's
 * sourceRoot), whatever folder the bundle runs from.
 */
export function mapStackTracesOnDemand(): void {
  // Node's own mapping is on (node --enable-source-maps): it has mapped every frame already.
  if (process.sourceMapsEnabled || installed) return;
  installed = true;
  Error.prepareStackTrace = (error, frames) => {
    const head = errorHeader(error);
    return frames.length === 0 ? head : `${head}\n${frames.map((frame) => `    at ${mappedFrame(frame)}`).join('\n')}`;
  };
}

let installed = false;

/** Each bundle's map, by the bundle's path, or null when it has none. */
const maps = new Map<string, { map: SourceMap; root: string } | null>();

function mapOf(file: string): { map: SourceMap; root: string } | null {
  let entry = maps.get(file);
  if (entry !== undefined) return entry;
  entry = null;
  try {
    const payload = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sourceRoot?: string };
    entry = {
      map: new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]),
      root: payload.sourceRoot ?? '',
    };
  } catch {
    // No map beside it (a dependency, node: internals): its frames stay as they are.
  }
  maps.set(file, entry);
  return entry;
}

function mappedFrame(frame: NodeJS.CallSite): string {
  const text = frame.toString();
  const url = frame.getFileName();
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (url === undefined || url === null || line === null || column === null) return text;
  const file = url.startsWith('file:') ? fileURLToPath(url) : url;
  if (!file.endsWith('.js')) return text;
  const found = mapOf(file);
  if (found === null) return text;
  const entry = found.map.findEntry(line - 1, column - 1) as Partial<{
    originalSource: string;
    originalLine: number;
    originalColumn: number;
  }>;
  if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) {
    return text;
  }
  // The sourceRoot climbs from dist to the repository's root: what is left is the path from there.
  const source = posix.join(found.root, entry.originalSource).replace(/^(\.\.\/)+/, '');
  // The generated place, as V8 wrote it, becomes the source's: the rest of the frame (function, "async", "new") stays.
  return text.replace(`${url}:${line}:${column}`, `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
}

/** The first line of a stack as V8 writes it: `TypeError: message`. */
function errorHeader(error: Error): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return '<error>';
  }
}
