import equal from 'ajv/dist/runtime/equal.js';
import ucs2length from 'ajv/dist/runtime/ucs2length.js';
import uri from 'ajv/dist/runtime/uri.js';
import { fullFormats } from 'ajv-formats/dist/formats.js';

/**
 * What Ajv's precompiled validators (the generated validators.js) need at run
 * time, by the module name Ajv's standalone code gives it: otogen writes
 * `ajvRuntime["ajv/dist/runtime/ucs2length"]` where Ajv writes a
 * `require(...)`, so the generated package needs no dependency on Ajv of its
 * own, and the code works in an ES module. Each entry is what that
 * `require` returns.
 */
export const ajvRuntime: Readonly<Record<string, unknown>> = {
  'ajv/dist/runtime/equal': { default: exportsDefault(equal) },
  'ajv/dist/runtime/ucs2length': { default: exportsDefault(ucs2length) },
  'ajv/dist/runtime/uri': { default: exportsDefault(uri) },
  'ajv-formats/dist/formats': { fullFormats },
};

/**
 * A CommonJS module's `exports.default`, however it was imported: Node and
 * esbuild's Node mode hand over the whole `module.exports` (marked
 * `__esModule` by TypeScript's output), other bundlers its `default`.
 */
function exportsDefault<T>(imported: T): T {
  return typeof imported === 'object' && imported !== null && '__esModule' in imported
    ? (imported as unknown as { default: T }).default
    : imported;
}
