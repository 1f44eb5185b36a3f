import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type ApiHost, parseDefinitions, readDefinitions, render } from '../src/index.js';
import { exampleObject } from '../src/render/example.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const redocly = join(root, 'tools/otogen/node_modules/.bin/redocly');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string }[];
}

/** Redocly CLI's recommended ruleset on one file, as a user would run it; its telemetry off, since nothing here may call out. */
async function lint(file: string): Promise<LintReport> {
  const run = promisify(execFile);
  const result = await run(redocly, ['lint', '--extends=recommended', '--format=json', file], {
    cwd: root,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return JSON.parse(result.stdout) as LintReport;
}

describe("openapi.json under Redocly's recommended rules", () => {
  it.each([
    ['fixtures/taco/packages/generated/docs/openapi.json'],
    ['tools/otogen/test/fixtures/inventory/generated/docs/openapi.json'],
  ])(
    '%s has no errors, and warns only of what it cannot know',
    async (file) => {
      const report = await lint(file);
      expect(report.totals.errors).toBe(0);
      // The project's licence is the user's to state, and the dev server is, rightly, localhost.
      expect(report.problems.map((problem) => problem.ruleId).sort()).toEqual([
        'info-license',
        'no-server-example.com',
      ]);
    },
    30_000,
  );
});

const model = parseDefinitions(await readDefinitions(['tools/otogen/test/fixtures/inventory/definitions.ts'], root));

describe('openapi.json from the manifests', () => {
  const openapi = (hosts: ApiHost[]) => {
    const file = render(model, { definitions: [], out: 'out' }, hosts).find((f) => f.path === 'docs/openapi.json');
    return JSON.parse(file?.text ?? '{}') as {
      servers: { url: string; description: string }[];
      paths: Record<string, { servers?: { url: string }[]; post: { security: unknown[]; responses: object } }>;
      components: { securitySchemes: Record<string, unknown> };
    };
  };

  it('requires a bearer token on the APIs of a private service, makes it optional on a public one, and names each server', () => {
    const document = openapi([
      { service: 'stockroom', port: 8090, public: false, apis: ['InventoryService'] },
      { service: 'auditor', port: 8091, public: true, apis: ['AuditService'] },
    ]);
    expect(document.components.securitySchemes.googleIdToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    const addItem = document.paths['/oto/InventoryService.AddItem'];
    const ping = document.paths['/oto/AuditService.Ping'];
    expect(addItem?.post.security).toEqual([{ googleIdToken: [] }]);
    expect(ping?.post.security).toEqual([{}, { googleIdToken: [] }]);
    expect(document.servers.map((server) => server.url)).toEqual(['http://localhost:8090', 'http://localhost:8091']);
    expect(document.servers[0]?.description).toBe(
      'stockroom under `pnpm dev`. On Cloud Run: https://stockroom-<project hash>-<region>.a.run.app, with an identity token.',
    );
    // Each path says which service serves it, since they differ.
    expect(addItem?.servers?.map((server) => server.url)).toEqual(['http://localhost:8090']);
    expect(ping?.servers?.map((server) => server.url)).toEqual(['http://localhost:8091']);
  });

  it('describes every error a call can get, by status, with its codes', () => {
    const { responses } = openapi([]).paths['/oto/InventoryService.AddItem']?.post ?? { responses: {} };
    expect(Object.keys(responses)).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '409',
      '412',
      '413',
      '415',
      '429',
      '500',
      '501',
      '503',
      '504',
    ]);
  });

  it('has a placeholder server, and requires the token, while no service serves the APIs', () => {
    const document = openapi([]);
    expect(document.servers).toEqual([expect.objectContaining({ url: 'http://localhost:{port}' })]);
    expect(document.paths['/oto/AuditService.Ping']?.post.security).toEqual([{ googleIdToken: [] }]);
    expect(document.paths['/oto/AuditService.Ping']?.servers).toBeUndefined();
  });
});

describe('exampleObject', () => {
  const parse = (text: string) => parseDefinitions([{ fileName: 'api.ts', text }]);

  it("makes up a required field's plainest valid value from its type and rules, and leaves optional ones out", () => {
    const model = parse(`
/** Kind of order. */
export type Kind = 'pickup' | 'delivery';
/** S. */
export interface S { /** M. */ m(request: R): R; }
/** R. */
export interface R {
  /** Code. @minLength 8 @maxLength 10 */
  code: string;
  /** Count. @integer @minimum 2 */
  count: number;
  /** Kind. */
  kind: Kind;
  /** Lines. @minItems 2 */
  lines: string[];
  /** Email. @format email */
  email: string;
  /** Note. */
  note?: string;
  /** Done. */
  done: boolean;
}`);
    expect(exampleObject(model, 'R')).toEqual({
      code: 'stringxx',
      count: 2,
      kind: 'pickup',
      lines: ['string', 'string'],
      email: 'user@example.com',
      done: false,
    });
  });

  it('gives up on a required field with a pattern and no @example, rather than make up a value that fails it', () => {
    const model = parse(`
/** S. */
export interface S { /** M. */ m(request: R): R; }
/** R. */
export interface R {
  /** SKU. @pattern ^[A-Z]{3}$ */
  sku: string;
}`);
    expect(exampleObject(model, 'R')).toBeUndefined();
  });
});
