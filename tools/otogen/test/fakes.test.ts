import { routeShortNames, serveFake } from '@taco-run/rpc/testing';
import { describe, expect, it } from 'vitest';
import { AuditServiceClient, InventoryServiceClient } from './fixtures/inventory/generated/src/client.js';
import { fakeAuditService, fakeInventoryService } from './fixtures/inventory/generated/src/fakes.js';

// A callee that serves two APIs is one fake serving both, as the scaffolded test of its caller makes it.

describe('the fakes of a callee that serves two APIs', () => {
  it('answer both APIs at one short name, and record the calls to each in order', async () => {
    const fake = await serveFake([
      fakeInventoryService({ findItems: () => ({ items: [], counts: { shelf: 0 }, shelves: {} }) }),
      fakeAuditService({ ping: () => ({ now: '2026-12-04T20:00:00Z' }) }),
    ]);
    const unroute = routeShortNames({ pantry: fake.origin });
    try {
      const inventory = new InventoryServiceClient('http://pantry/oto/', { retry: false });
      const audit = new AuditServiceClient('http://pantry/oto/', { retry: false });
      expect(await audit.ping({})).toEqual({ now: '2026-12-04T20:00:00Z' });
      expect(await inventory.findItems({})).toEqual({ items: [], counts: { shelf: 0 }, shelves: {} });
      const item = {
        sku: 'TAC-0001',
        name: 'Corn tortillas',
        count: 24,
        price: 0.25,
        vegetarian: true,
        storage: 'shelf' as const,
        tags: [],
        attributes: {},
      };
      await expect(inventory.addItem({ item })).rejects.toThrow('InventoryService.AddItem is not implemented yet');
      expect(fake.calls.map((call) => call.method)).toEqual([
        'AuditService.Ping',
        'InventoryService.FindItems',
        'InventoryService.AddItem',
      ]);
    } finally {
      await unroute();
      await fake.close();
    }
  });
});
