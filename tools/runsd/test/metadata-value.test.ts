import { type MetadataServer, startMetadataServer } from '@taco-run/cloud-emulator';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { metadataValue } from '../src/metadata-value.js';

// runsd's start-up questions, asked of the metadata emulator and of a server that only looks like it.

let metadata: MetadataServer;
let impostor: FastifyInstance;
let impostorHost: string;
const saved = { host: process.env.GCE_METADATA_HOST, ip: process.env.GCE_METADATA_IP };

beforeAll(async () => {
  metadata = await startMetadataServer({ region: 'europe-west1', projectNumber: '987654321098' });
  impostor = Fastify();
  impostor.get('/computeMetadata/v1/instance/region', async () => 'projects/1/regions/us-central1');
  impostorHost = new URL(await listenOnLoopback(impostor)).host;
});

afterAll(async () => {
  for (const [name, value] of [
    ['GCE_METADATA_HOST', saved.host],
    ['GCE_METADATA_IP', saved.ip],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([metadata.close(), impostor.close()]);
});

beforeEach(() => {
  process.env.GCE_METADATA_HOST = metadata.host;
  delete process.env.GCE_METADATA_IP;
  metadata.setFault(undefined);
});

describe('metadataValue', () => {
  it('reads a value through GCE_METADATA_HOST, or GCE_METADATA_IP first, as gcp-metadata does', async () => {
    expect(await metadataValue('instance/region')).toBe('projects/987654321098/regions/europe-west1');
    process.env.GCE_METADATA_HOST = impostorHost;
    process.env.GCE_METADATA_IP = metadata.host;
    expect(await metadataValue('project/project-id')).toBe(metadata.options.projectId);
  });

  it('tries a dropped connection again', async () => {
    metadata.setFault({ kind: 'down', requests: 2 });
    expect(await metadataValue('instance/region')).toBe('projects/987654321098/regions/europe-west1');
  });

  it('refuses an answer without Metadata-Flavor: Google', async () => {
    process.env.GCE_METADATA_HOST = impostorHost;
    await expect(metadataValue('instance/region')).rejects.toThrow(
      'the answer to instance/region has no "Metadata-Flavor: Google" header: not a metadata server',
    );
  });

  it('reports an error status with the start of its body', async () => {
    metadata.setFault({ kind: 'error', requests: 1 });
    await expect(metadataValue('instance/region')).rejects.toThrow(
      'instance/region answered 500: metadata emulator: injected fault',
    );
  });

  it('gives up when no answer comes in time', async () => {
    let release = () => {};
    metadata.setFault({ kind: 'held', until: new Promise<void>((resolve) => (release = resolve)), requests: 1 });
    await expect(metadataValue('instance/region', 200)).rejects.toThrow('no answer within 200 ms');
    release();
  });
});
