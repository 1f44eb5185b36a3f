import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DefinitionError, parseDefinitions } from '../src/index.js';

const read = (fileName: string) => ({
  fileName,
  text: readFileSync(new URL(`../../../${fileName}`, import.meta.url), 'utf8'),
});
const kitchen = ['menu.ts', 'orders.ts'].map((file) => read(`tools/otogen/test/fixtures/kitchen/definitions/${file}`));

describe('the model', () => {
  it('matches the snapshot for the kitchen fixture, two files that share a type', async () => {
    const model = parseDefinitions(kitchen);
    await expect(`${JSON.stringify(model, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/kitchen.model.json');
  });

  it('matches the snapshot for the inventory fixture, which uses every supported type', async () => {
    const model = parseDefinitions([read('tools/otogen/test/fixtures/inventory/definitions.ts')]);
    await expect(`${JSON.stringify(model, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/inventory.model.json');
  });

  it('reads a service as oto would, with a type imported from another file', () => {
    const model = parseDefinitions(kitchen);
    expect(model.sources).toEqual([
      'tools/otogen/test/fixtures/kitchen/definitions/menu.ts',
      'tools/otogen/test/fixtures/kitchen/definitions/orders.ts',
    ]);
    expect(model.services.map((service) => service.name)).toEqual(['MenuService', 'OrderService']);
    expect(model.services[1]).toEqual({
      name: 'OrderService',
      comment: 'OrderService takes orders for dishes from the menu.',
      methods: [
        {
          name: 'PlaceOrder',
          nameLowerCamel: 'placeOrder',
          wireName: 'OrderService.PlaceOrder',
          inputObject: 'PlaceOrderRequest',
          outputObject: 'PlaceOrderResponse',
          comment: 'PlaceOrder orders dishes for a table.',
          idempotent: true,
        },
      ],
    });
    const dishes = model.objects.find((object) => object.name === 'PlaceOrderRequest')?.fields[1];
    expect(dishes).toEqual({
      name: 'dishes',
      comment: '',
      type: {
        kind: 'array',
        typeName: 'Dish[]',
        multiple: true,
        isObject: true,
        items: { kind: 'object', typeName: 'Dish', multiple: false, isObject: true, objectName: 'Dish' },
      },
      optional: false,
      constraints: { minItems: 1 },
    });
  });
});

/** Parses one file and returns the problems it reports, as `line: reason`. */
function problems(text: string): string[] {
  try {
    parseDefinitions([{ fileName: 'bad.ts', text }]);
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionError);
    return (error as DefinitionError).problems.map((problem) => `${problem.file}:${problem.line}: ${problem.reason}`);
  }
  throw new Error('expected the definitions to be rejected');
}

const service = `
export interface S {
  call(request: In): Out;
}
export interface Out {}
`;

describe('unsupported definitions are build errors at file:line', () => {
  it.each([
    [
      'a generic interface',
      'export interface In<T> { value: T }',
      'bad.ts:6: In has type parameters; generics are not supported',
    ],
    [
      'a function field',
      'export interface In { run: () => void }',
      'bad.ts:6: In.run is "() => void", a function type, which is not supported',
    ],
    [
      'a method in an object',
      'export interface In { value: string; run(): void }',
      'bad.ts:6: In mixes methods and fields; a service has only methods, an object only fields',
    ],
    [
      'a class',
      'export interface In {}\nexport class Thing {}',
      'bad.ts:7: a class is not supported in definitions; use interfaces and string-literal unions only',
    ],
    ['any', 'export interface In { value: any }', 'bad.ts:6: In.value is any; give it a concrete type'],
    ['unknown', 'export interface In { value: unknown }', 'bad.ts:6: In.value is unknown; give it a concrete type'],
    [
      'a generic field type',
      'export interface In { value: Map<string, string> }',
      'bad.ts:6: In.value is Map<string, string>; generic types are not supported',
    ],
    [
      'an undeclared type',
      'export interface In { when: Date }',
      'bad.ts:6: In.when is Date, which is not declared in the definitions',
    ],
    [
      'a mixed union',
      'export interface In { value: string | number }',
      'bad.ts:6: In.value is "string | number"; only unions of string literals are supported (use ?: for an optional field)',
    ],
    [
      'a nullable field',
      'export interface In { value: string | null }',
      'bad.ts:6: In.value is "string | null"; only unions of string literals are supported (use ?: for an optional field)',
    ],
    [
      'an inline object',
      'export interface In { value: { a: string } }',
      'bad.ts:6: In.value is "{ a: string }", a inline object type (declare it as an interface), which is not supported',
    ],
    [
      'a tuple',
      'export interface In { value: [string, number] }',
      'bad.ts:6: In.value is "[string, number]", a tuple, which is not supported',
    ],
    [
      'a number-keyed map',
      'export interface In { value: Record<number, string> }',
      'bad.ts:6: In.value is Record<number, string>; map keys must be string',
    ],
    [
      'an index signature',
      'export interface In { [key: string]: string }',
      'bad.ts:6: In has an index signature; use a field of type Record<string, T>',
    ],
    [
      'a TypeScript enum',
      'export interface In {}\nenum Color { Red }',
      'bad.ts:7: a TypeScript enum (use a union of string literals) is not supported in definitions; use interfaces and string-literal unions only',
    ],
    [
      'an import from outside the definitions',
      "import type { X } from 'zod';\nexport interface In {}",
      'bad.ts:6: an import from "zod", which is not one of the definitions files; definitions import types only from one another',
    ],
    [
      'a non-enum alias',
      'export interface In {}\nexport type Id = string;',
      'bad.ts:7: type Id = string is not supported; a type alias must be a union of string literals',
    ],
    [
      'extends',
      'export interface Base {}\nexport interface In extends Base {}',
      'bad.ts:7: In extends another type; declare all of its fields in it',
    ],
    [
      'a recursive type',
      'export interface In { child: In }',
      'bad.ts:6: In → In is recursive; recursive types are not supported',
    ],
    [
      'an unknown tag',
      'export interface In {\n  /** @minlength 3 */\n  name: string;\n}',
      'bad.ts:7: unknown tag @minlength (allowed here: @example, @integer, @minLength, @maxLength, @minimum, @maximum, @pattern, @minItems, @maxItems, @format)',
    ],
    [
      'a rule on the wrong type',
      'export interface In {\n  /** @minItems 1 */\n  name: string;\n}',
      'bad.ts:8: In.name has @minItems, which needs an array, but it is string',
    ],
    [
      '@integer on a string',
      'export interface In {\n  /** @integer */\n  name: string;\n}',
      'bad.ts:8: In.name has @integer, which needs a number, but it is string',
    ],
    [
      'a bad number',
      'export interface In {\n  /** @minimum lots */\n  n: number;\n}',
      'bad.ts:8: In.n has @minimum lots, which is not a number',
    ],
    [
      'a bad count',
      'export interface In {\n  /** @maxLength -1 */\n  s: string;\n}',
      'bad.ts:8: In.s has @maxLength "-1"; it takes a whole number',
    ],
    [
      'a bad pattern',
      'export interface In {\n  /** @pattern [a- */\n  s: string;\n}',
      'bad.ts:8: In.s has @pattern [a-, which is not a valid regular expression',
    ],
    [
      'two fields that are one field in Go',
      'export interface In {\n  id: string;\n  Id: string;\n}',
      'bad.ts:8: In.Id and In.id would both be Id in Go (definitions.go); rename one',
    ],
    [
      'an unknown format',
      'export interface In {\n  /** @format url */\n  s: string;\n}',
      'bad.ts:8: In.s has @format url; supported formats are email, uuid, date-time',
    ],
  ])('rejects %s', (_name, declaration, expected) => {
    expect(problems(`${service}${declaration}\n`)).toEqual([expected]);
  });

  it('rejects a method with two parameters', () => {
    expect(problems('export interface S {\n  call(a: In, b: In): In;\n}\nexport interface In {}\n')).toEqual([
      'bad.ts:2: S.call takes 2 parameters; a method takes exactly one request object',
    ]);
  });

  it('rejects a method whose request is not an object', () => {
    expect(problems('export interface S {\n  call(a: string): Out;\n}\nexport interface Out {}\n')).toEqual([
      'bad.ts:2: the request of S.call must be an interface with fields declared in the definitions, not "string"',
    ]);
  });

  it('rejects a generic method and an optional one', () => {
    expect(problems('export interface S {\n  a<T>(r: In): In;\n  b?(r: In): In;\n}\nexport interface In {}\n')).toEqual(
      [
        'bad.ts:2: S.a has type parameters; generics are not supported',
        'bad.ts:3: S.b is optional; every method of a service must exist',
      ],
    );
  });

  it('rejects a file with no service', () => {
    expect(problems('export interface In { a: string }\n')).toEqual([
      'bad.ts:1: no service is declared; a service is an interface with methods',
    ]);
  });

  it('reports every problem at once, and names a duplicate declaration', () => {
    expect(problems(`${service}export interface In { a: any; b: () => void }\nexport interface Out {}\n`)).toEqual([
      'bad.ts:7: Out is declared twice (first at bad.ts:5)',
      'bad.ts:6: In.a is any; give it a concrete type',
      'bad.ts:6: In.b is "() => void", a function type, which is not supported',
    ]);
  });
});

describe('definitions in several files', () => {
  const taco = {
    fileName: 'defs/taco.ts',
    text: 'export interface TacoService {\n  eat(request: Order): Order;\n}\nexport interface Order {\n  name: string;\n}\n',
  };
  const problemsWith = (text: string, others = [taco]) => {
    try {
      parseDefinitions([...others, { fileName: 'defs/menu.ts', text }]);
      return [];
    } catch (error) {
      return (error as DefinitionError).problems.map((problem) => `${problem.file}:${problem.line}: ${problem.reason}`);
    }
  };
  const menu = (imports: string) =>
    `${imports}\nexport interface MenuService {\n  list(request: Order): Menu;\n}\nexport interface Menu {\n  order: Order;\n}\n`;

  it.each([
    ["import type { Order } from './taco.js';"],
    ["import type { Order } from './taco';"],
    ["import { type Order } from './taco.js';"],
  ])('share types through %s', (imports) => {
    expect(problemsWith(menu(imports))).toEqual([]);
  });

  it.each([
    [
      "import { Order } from './taco.js';",
      'defs/menu.ts:1: write the import from "./taco.js" as `import type { A, B } from \'./taco.js\'`',
    ],
    [
      "import type { Order as Taco } from './taco.js';",
      'defs/menu.ts:1: Order is imported as Taco; a type keeps its name across definitions files',
    ],
    ["import type { Order, Menu } from './taco.js';", 'defs/menu.ts:1: defs/taco.ts declares no Menu'],
    [
      "import type { Order } from './tacos.js';",
      'defs/menu.ts:1: an import from "./tacos.js", which is not one of the definitions files; definitions import types only from one another',
    ],
  ])('refuses %s', (imports, expected) => {
    expect(problemsWith(menu(imports))).toContain(expected);
  });

  it('refuses one name declared in two files', () => {
    expect(problemsWith('export interface Order {\n  size: number;\n}\n')).toEqual([
      'defs/menu.ts:1: Order is declared twice (first at defs/taco.ts:4)',
    ]);
  });
});
