import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify from 'fastify';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  registerAuditService,
  registerInventoryService,
  unimplementedAuditService,
  unimplementedInventoryService,
} from './fixtures/inventory/generated/src/server.js';

// A service that serves two APIs registers each with its own generated call, as the scaffold writes it.

const ping = { ping: () => ({ now: '2026-12-04T20:00:00Z' }) };

async function call(origin: string, method: string, body: unknown) {
  const response = await request(`${origin}/oto/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, body: await response.body.json() };
}

describe('two register calls on one app', () => {
  it('serve both APIs under one base path, with one not-found answer for both', async () => {
    const app = Fastify();
    registerInventoryService(app, unimplementedInventoryService());
    registerAuditService(app, { ...unimplementedAuditService(), ...ping });
    const origin = await listenOnLoopback(app);
    try {
      expect(await call(origin, 'AuditService.Ping', {})).toEqual({
        status: 200,
        body: { now: '2026-12-04T20:00:00Z' },
      });
      expect(await call(origin, 'InventoryService.FindItems', {})).toMatchObject({
        status: 501,
        body: { code: 'unimplemented' },
      });
      expect(await call(origin, 'AuditService.Pong', {})).toMatchObject({ status: 404, body: { code: 'bad_route' } });
    } finally {
      await app.close();
    }
  });

  it('are refused, naming registerRpcServices, where they cannot share one scope', async () => {
    const scoped = Fastify();
    registerInventoryService(scoped, unimplementedInventoryService());
    expect(() =>
      scoped.register(async (child) => {
        registerAuditService(child, { ...unimplementedAuditService(), ...ping });
      }),
    ).not.toThrow();
    await expect(scoped.ready()).rejects.toThrow(
      'InventoryService, AuditService share the base path /oto/ but were registered from another Fastify scope; ' +
        'mount them in one call, registerRpcServices(app, [<api>Routes(impl), ...], options)',
    );
    await scoped.close();

    const options = Fastify();
    registerInventoryService(options, unimplementedInventoryService());
    expect(() =>
      registerAuditService(options, { ...unimplementedAuditService(), ...ping }, { bodyLimit: 1000 }),
    ).toThrow('share the base path /oto/ but were registered with other options');
    await options.close();

    const loaded = Fastify();
    registerInventoryService(loaded, unimplementedInventoryService());
    await loaded.ready();
    expect(() => registerAuditService(loaded, unimplementedAuditService())).toThrow(
      'registered after the app has loaded its plugins',
    );
    await loaded.close();
  });
});
