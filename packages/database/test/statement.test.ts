import { describe, expect, it } from 'vitest';
import { spanName, summarizeStatement } from '../src/statement.js';

describe('summarizeStatement', () => {
  it.each([
    ['select "name", "tacos" from "taco_orders" where "name" = $1', 'SELECT taco_orders'],
    ['insert into "taco_orders" ("name", "tacos") values ($1, $2) returning "id"', 'INSERT taco_orders'],
    ['update "public"."taco_orders" set "tacos" = $1', 'UPDATE taco_orders'],
    ['delete from taco_orders where id = $1', 'DELETE taco_orders'],
    ['  SELECT count(*) FROM "odd ""name"""', 'SELECT odd "name"'],
    ['begin', 'BEGIN'],
    ['select 1', 'SELECT'],
    ['create table orders (id serial primary key)', 'CREATE orders'],
    ['', 'SQL'],
  ])('names %j %j', (sql, name) => {
    expect(spanName(summarizeStatement(sql))).toBe(name);
  });

  it('reads nothing past the first table: values are never in a span', () => {
    expect(summarizeStatement("select * from orders where name = 'secret'")).toEqual({
      operation: 'SELECT',
      table: 'orders',
    });
  });
});
