import type { ServiceDatabase } from '@taco-run/database';
import type { TacoService } from '@taco-run/generated/server';
import type { Tables } from './database.generated.js';

/**
 * The taco service itself, over tacoserver's own database. The schema's
 * `@minLength 1` and `@minItems 1` already answer an empty name or list with
 * "EatTacoRequest.Name is required" and "EatTacoRequest.Tacos is required",
 * as the original's checks did, so a request that gets here is valid.
 */
export function tacoService(database: ServiceDatabase<Tables>): TacoService {
  return {
    async eatTaco({ name, tacos }) {
      const db = await database.kysely();
      // Answered only once the order is stored: a 200 is an order that is kept.
      await db.insertInto('taco_orders').values({ name, tacos }).execute();
      return { tacoConsumptionStatus: `${name} has consumed ${tacos.length} tacos` };
    },

    async tacoTally({ name }) {
      const db = await database.kysely();
      const tally = await db
        .selectFrom('taco_orders')
        .select(({ fn, lit }) => [
          fn.countAll<string>().as('orders'),
          fn.coalesce(fn.sum<string>(fn('cardinality', ['tacos'])), lit(0)).as('tacos'),
        ])
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      // count and sum are bigints, which node-postgres reads as strings.
      return { tacos: Number(tally.tacos), orders: Number(tally.orders) };
    },
  };
}
