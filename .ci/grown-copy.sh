#!/usr/bin/env bash
# CI's proof that the template stays green as a team grows it: a copy of this checkout, grown the
# way the README says (the taco example deleted, definitions that share one type across three files,
# two scaffolded services that serve them, a public service with CORS and a secret that calls both),
# must pass its own `pnpm test` and `pnpm test:reliability`. It is a step of .ci/run, not a vitest
# test, because the copy's suite would otherwise run this test again inside itself.
#
#   bash .ci/grown-copy.sh [folder]     (default: a new temporary folder, removed afterwards)
set -euo pipefail
repository="$(cd "$(dirname "$0")/.." && pwd)"
keep=false
if [ $# -gt 0 ]; then
  work="$1"
  keep=true
  mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/grown-XXXXXX")"
fi
cleanup() { if [ "$keep" = false ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
say() { printf 'grown-copy: %s\n' "$*"; }

say "copying the checkout (tracked and new files, as a clone has them) to $work"
(cd "$repository" && git ls-files -co --exclude-standard -z) |
  (cd "$repository" && xargs -0 cp --parents --no-dereference -t "$work" 2>/dev/null || true)
cd "$work"
git init --quiet && git add --all && git -c user.name=ci -c user.email=ci@localhost commit --quiet -m copy
pnpm install --offline --frozen-lockfile --silent

say "pnpm emulator:token in a clone where nothing is built yet: one line, no stack"
if token_output="$(pnpm --silent emulator:token 2>&1)"; then
  say "expected emulator:token to fail with no emulator running; it printed: $token_output"
  exit 1
fi
expected="cloud-emulator: no emulator is running here; start one with \`pnpm dev:cloud\`"
# pnpm 12 adds its own ELIFECYCLE line after a failed script, even under --silent.
if [ "$(printf '%s\n' "$token_output" | head -n 1)" != "$expected" ] || printf '%s\n' "$token_output" | grep -q '^ *at '; then
  printf 'grown-copy: emulator:token said\n%s\ninstead of\n%s\n' "$token_output" "$expected"
  exit 1
fi

say "deleting the taco example, as the README's 'Without the example' says"
rm -r services/tacoserver services/tacoclient packages/definitions/src/taco.ts
pnpm --silent generate
say "without the example: the checks of pnpm test that read the definitions and the generated code"
pnpm --silent lint
pnpm --silent generate --check
pnpm --silent typecheck

say "writing definitions: money.ts, and menu.ts, kitchen.ts and orders.ts, which each import its Money"
cat >packages/definitions/src/money.ts <<'TS'
/** Money is an amount in one currency, in its smallest unit. */
export interface Money {
  /**
   * Currency is the ISO 4217 code.
   * @example "EUR"
   * @pattern ^[A-Z]{3}$
   */
  currency: string;
  /**
   * Cents is the amount in the currency's smallest unit.
   * @example 1250
   * @integer
   * @minimum 0
   */
  cents: number;
}
TS
cat >packages/definitions/src/menu.ts <<'TS'
import type { Money } from './money.js';

/** MenuService says what the kitchen cooks today, and for how much. */
export interface MenuService {
  /** ListDishes gives today's dishes. */
  listDishes(request: ListDishesRequest): ListDishesResponse;
}

/** ListDishesRequest asks for the dishes of one course. */
export interface ListDishesRequest {
  /** Course is starters, mains or desserts. */
  course: 'starters' | 'mains' | 'desserts';
}

/** ListDishesResponse holds the dishes. */
export interface ListDishesResponse {
  /** @example [{"name": "Tacos al pastor", "price": {"currency": "EUR", "cents": 1250}}] */
  dishes: Dish[];
}

/** Dish is one thing on the menu. */
export interface Dish {
  /**
   * Name is what the menu calls it.
   * @example "Tacos al pastor"
   * @minLength 1
   */
  name: string;
  price: Money;
}
TS
cat >packages/definitions/src/kitchen.ts <<'TS'
import type { Money } from './money.js';

/** KitchenService cooks what is ordered. */
export interface KitchenService {
  /** Cook starts a dish and says what its ingredients cost. */
  cook(request: CookRequest): CookResponse;
}

/** CookRequest names one dish. */
export interface CookRequest {
  /**
   * Dish is the menu's name for it.
   * @example "Tacos al pastor"
   * @minLength 1
   */
  dish: string;
}

/** CookResponse says the dish is on its way. */
export interface CookResponse {
  /**
   * Ticket is the kitchen's number for the dish.
   * @example 42
   * @integer
   */
  ticket: number;
  cost: Money;
}
TS
cat >packages/definitions/src/pantry.ts <<'TS'
/** PantryService says what the kitchen has in store: the kitchen's second API. */
export interface PantryService {
  /** CheckStock says whether a dish can be cooked now. */
  checkStock(request: CheckStockRequest): CheckStockResponse;
}

/** CheckStockRequest names one dish. */
export interface CheckStockRequest {
  /**
   * Dish is the menu's name for it.
   * @example "Tacos al pastor"
   * @minLength 1
   */
  dish: string;
}

/** CheckStockResponse says whether it can be cooked. */
export interface CheckStockResponse {
  /** @example true */
  inStock: boolean;
}
TS
cat >packages/definitions/src/orders.ts <<'TS'
import type { Money } from './money.js';

/** OrderService takes a guest's order from a browser. */
export interface OrderService {
  /** PlaceOrder cooks the dishes and says what they cost. */
  placeOrder(request: PlaceOrderRequest): PlaceOrderResponse;
}

/** PlaceOrderRequest is one guest's order. */
export interface PlaceOrderRequest {
  /**
   * Dishes are names from the menu.
   * @example ["Tacos al pastor"]
   * @minItems 1
   */
  dishes: string[];
}

/** PlaceOrderResponse is the bill. */
export interface PlaceOrderResponse {
  /**
   * Tickets are the kitchen's numbers, one a dish.
   * @example [42]
   */
  tickets: number[];
  total: Money;
}
TS
say "pnpm generate"
pnpm --silent generate

say "scaffolding menuserver, and kitchen with two APIs, then orders, which calls both services"
pnpm --silent new:service menuserver --serves MenuService
pnpm --silent new:service kitchen --serves KitchenService,PantryService
pnpm --silent new:service orders --serves OrderService --calls menuserver,kitchen

say "making orders public, with CORS for one origin and a secret"
node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  const file = "services/orders/service.json";
  const manifest = JSON.parse(readFileSync(file, "utf8"));
  Object.assign(manifest, {
    public: true,
    cors: { origins: ["https://shop.example.com"] },
    secrets: { PAYMENT_KEY: "payment-key:latest" },
  });
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
'
pnpm exec biome format --write --log-level=error services/orders/service.json
# The API docs say who serves each API, and how: public now, and CORS.
pnpm --silent generate

say "writing the methods: menuserver's and kitchen's, and orders', which calls all three APIs"
cat >services/menuserver/src/menu-service.ts <<'TS'
import type { MenuService } from '@taco-run/generated/server';

export function menuService(): MenuService {
  return {
    listDishes(request) {
      const mains = [{ name: 'Tacos al pastor', price: { currency: 'EUR', cents: 1250 } }];
      return { dishes: request.course === 'mains' ? mains : [] };
    },
  };
}
TS
cat >services/kitchen/src/kitchen-service.ts <<'TS'
import type { KitchenService } from '@taco-run/generated/server';

let tickets = 0;

export function kitchenService(): KitchenService {
  return {
    cook() {
      tickets += 1;
      return { ticket: tickets, cost: { currency: 'EUR', cents: 400 } };
    },
  };
}
TS
cat >services/kitchen/src/pantry-service.ts <<'TS'
import type { PantryService } from '@taco-run/generated/server';

export function pantryService(): PantryService {
  return {
    checkStock(request) {
      return { inStock: request.dish !== 'Fish tacos' };
    },
  };
}
TS
cat >services/orders/src/order-service.ts <<'TS'
import type { OrderService } from '@taco-run/generated/server';
import { RpcError } from '@taco-run/rpc';
import type { Clients } from './clients.js';

export function orderService(clients: Clients): OrderService {
  return {
    async placeOrder(request) {
      const { dishes } = await clients.menuService.listDishes({ course: 'mains' });
      const tickets: number[] = [];
      let cents = 0;
      for (const name of request.dishes) {
        const dish = dishes.find((candidate) => candidate.name === name);
        if (dish === undefined) throw new RpcError('invalid_argument', `${name} is not on the menu`);
        const { inStock } = await clients.pantryService.checkStock({ dish: name });
        if (!inStock) throw new RpcError('failed_precondition', `${name} is sold out`);
        tickets.push((await clients.kitchenService.cook({ dish: name })).ticket);
        cents += dish.price.cents;
      }
      return { tickets, total: { currency: 'EUR', cents } };
    },
  };
}
TS

say "pnpm test"
pnpm test
say "pnpm test:reliability"
pnpm test:reliability
say "passed: the grown copy's pnpm test and pnpm test:reliability"
