-- Every EatTaco order, as it was placed: TacoTally counts them.
create table taco_orders (
  id bigint generated always as identity primary key,
  name text not null,
  tacos text[] not null,
  eaten_at timestamptz not null default now()
);
comment on table taco_orders is 'One row per EatTaco call: who ate which tacos, and when.';
comment on column taco_orders.name is 'Who ate them, as they gave their name to EatTaco.';
comment on column taco_orders.tacos is 'The tacos of this order, in the order given.';

-- TacoTally reads one person's orders.
create index taco_orders_name on taco_orders (name);
