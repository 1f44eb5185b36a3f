import { instance, project } from 'gcp-metadata';
import { OAuth2Client } from 'google-auth-library';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, type MetadataServer, startMetadataServer } from '../src/index.js';

// The emulator as Google's own libraries see it: gcp-metadata through GCE_METADATA_HOST,
// and google-auth-library verifying its tokens against its published keys.

let metadata: MetadataServer;
const saved = process.env.GCE_METADATA_HOST;
const base = () => `http://${metadata.host}/computeMetadata/v1`;

beforeAll(async () => {
  metadata = await startMetadataServer({
    projectId: 'p-id',
    projectNumber: '42',
    region: 'europe-west1',
    serviceAccountEmail: 'sa@p-id.iam.gserviceaccount.com',
  });
  process.env.GCE_METADATA_HOST = metadata.host;
});

afterAll(async () => {
  if (saved === undefined) delete process.env.GCE_METADATA_HOST;
  else process.env.GCE_METADATA_HOST = saved;
  await metadata.close();
});

describe('the metadata emulator', () => {
  it('serves the project, region, zone and account through gcp-metadata', async () => {
    expect(await project('project-id')).toBe('p-id');
    expect(String(await project('numeric-project-id'))).toBe('42');
    expect(await instance('region')).toBe('projects/42/regions/europe-west1');
    expect(await instance('zone')).toBe('projects/42/zones/europe-west1-1');
    expect(await instance('service-accounts/default/email')).toBe('sa@p-id.iam.gserviceaccount.com');
    expect(await instance('service-accounts/default/token')).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
  });

  it('refuses requests without Metadata-Flavor: Google, and marks every answer with it', async () => {
    const response = await request(`${base()}/project/project-id`);
    expect(response.statusCode).toBe(403);
    expect(response.headers['metadata-flavor']).toBe('Google');
    await response.body.dump();
  });

  it('issues identity tokens that google-auth-library verifies', async () => {
    const token = String(
      await instance({
        property: 'service-accounts/default/identity',
        params: { audience: 'https://svc-42.europe-west1.run.app', format: 'full' },
      }),
    );
    const { header, payload } = decodeJwt(token);
    expect(header).toMatchObject({ alg: 'RS256', kid: metadata.key.kid });
    expect(payload).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: 'https://svc-42.europe-west1.run.app',
      email: 'sa@p-id.iam.gserviceaccount.com',
      email_verified: true,
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    const verifier = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: `http://${metadata.host}/certs` },
    });
    const ticket = await verifier.verifyIdToken({ idToken: token, audience: 'https://svc-42.europe-west1.run.app' });
    expect(ticket.getPayload()?.email).toBe('sa@p-id.iam.gserviceaccount.com');
    await expect(verifier.verifyIdToken({ idToken: token, audience: 'https://other.run.app' })).rejects.toThrow(
      /audience/i,
    );
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.from('forged').toString('base64url')}`;
    await expect(
      verifier.verifyIdToken({ idToken: forged, audience: 'https://svc-42.europe-west1.run.app' }),
    ).rejects.toThrow(/signature/i);
  });

  it('leaves the account out of tokens not asked for in full format, and accepts an encoded audience', async () => {
    const response = await request(
      `${base()}/instance/service-accounts/default/identity?audience=${encodeURIComponent('https://a.run.app/x?y=1')}`,
      { headers: { 'metadata-flavor': 'Google' } },
    );
    const payload = decodeJwt(await response.body.text()).payload;
    expect(payload.aud).toBe('https://a.run.app/x?y=1');
    expect(payload.email).toBeUndefined();
  });

  it('answers 400 to an identity request with no audience', async () => {
    const response = await request(`${base()}/instance/service-accounts/default/identity`, {
      headers: { 'metadata-flavor': 'Google' },
    });
    expect(response.statusCode).toBe(400);
    expect(await response.body.text()).toBe('non-empty audience parameter required\n');
  });

  it('injects faults for the next N requests only', async () => {
    const get = async () => {
      try {
        const response = await request(`${base()}/project/project-id`, { headers: { 'metadata-flavor': 'Google' } });
        await response.body.dump();
        return response.statusCode;
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    metadata.setFault({ kind: 'error', requests: 2 });
    expect([await get(), await get(), await get()]).toEqual([500, 500, 200]);
    metadata.setFault({ kind: 'down', requests: 1 });
    expect([await get(), await get()]).toEqual(['UND_ERR_SOCKET', 200]);
    metadata.setFault({ kind: 'slow', delayMs: 150, requests: 1 });
    const started = Date.now();
    expect(await get()).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
