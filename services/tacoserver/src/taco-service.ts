import type { TacoService } from '@taco-run/generated/server';

/**
 * The taco service itself. The schema's `@minLength 1` and `@minItems 1`
 * already answer an empty name or list with "EatTacoRequest.Name is required"
 * and "EatTacoRequest.Tacos is required", as the original's checks did, so a
 * request that gets here is valid.
 */
export const tacoService: TacoService = {
  eatTaco(request) {
    return { tacoConsumptionStatus: `${request.name} has consumed ${request.tacos.length} tacos` };
  },
};
