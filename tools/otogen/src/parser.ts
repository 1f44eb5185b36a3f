import { posix } from 'node:path';
import ts from 'typescript';
import { DefinitionError, type DefinitionProblem } from './errors.js';
import {
  type Constraints,
  type EnumType,
  type Field,
  type FieldType,
  type Format,
  formats,
  type Method,
  type Model,
  type ObjectType,
  objectsIn,
  type Service,
} from './model.js';

export interface DefinitionFile {
  /** The path as it should appear in errors and generated headers. */
  fileName: string;
  text: string;
}

/**
 * Reads definition files into the model. It works on syntax alone (no type
 * checker, no program): a definition is a closed world of interfaces and
 * string-literal unions, so every name must be declared in the files given.
 * Whatever it cannot represent is a problem reported at `file:line`; nothing
 * is skipped.
 */
export function parseDefinitions(files: readonly DefinitionFile[]): Model {
  const parser = new Parser(files.map((file) => file.fileName));
  for (const file of files) parser.collect(file);
  return parser.finish(files.map((file) => file.fileName));
}

/** `import type { EatTacoRequest } from './taco.js'`: one name from another definitions file. */
interface TypeImport {
  name: string;
  /** The definitions file it names, as given to the parser. */
  from: string;
  source: ts.SourceFile;
  node: ts.Node;
}

type Declaration =
  | { kind: 'service'; node: ts.InterfaceDeclaration; source: ts.SourceFile }
  | { kind: 'object'; node: ts.InterfaceDeclaration; source: ts.SourceFile }
  | { kind: 'enum'; node: ts.TypeAliasDeclaration; source: ts.SourceFile };

const methodTags = new Set(['idempotent']);
const fieldTags = new Set([
  'example',
  'integer',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'pattern',
  'minItems',
  'maxItems',
  'format',
]);
const stringRules = ['minLength', 'maxLength', 'pattern', 'format'] as const;
const numberRules = ['minimum', 'maximum'] as const;
const arrayRules = ['minItems', 'maxItems'] as const;

class Parser {
  /** The files being read, by their path without the extension: what a relative import names. */
  readonly #files: Map<string, string>;
  readonly #imports: TypeImport[] = [];
  readonly #declarations = new Map<string, Declaration>();
  readonly #problems: DefinitionProblem[] = [];
  /** Declarations already reported as unsupported: uses of them add no second problem. */
  readonly #rejected = new Set<string>();

  constructor(fileNames: readonly string[]) {
    this.#files = new Map(fileNames.map((fileName) => [withoutExtension(posix.normalize(fileName)), fileName]));
  }

  collect({ fileName, text }: DefinitionFile): void {
    const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    for (const statement of source.statements) {
      if (ts.isInterfaceDeclaration(statement)) this.#declare(statement, source, classify(statement));
      else if (ts.isTypeAliasDeclaration(statement)) this.#declare(statement, source, 'enum');
      else if (ts.isImportDeclaration(statement)) this.#import(statement, source);
      else if (!ts.isEmptyStatement(statement))
        this.#problem(
          source,
          statement,
          `${describeStatement(statement)} is not supported in definitions; use interfaces and string-literal unions only`,
        );
    }
  }

  /**
   * Definition files share one namespace, so an import adds nothing but what
   * TypeScript itself needs to check the file. It must name another
   * definitions file, with `import type`, and take names as they are.
   */
  #import(node: ts.ImportDeclaration, source: ts.SourceFile): void {
    const specifier = ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : '';
    const clause = node.importClause;
    const named =
      clause?.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings : undefined;
    const typeOnly = clause?.isTypeOnly === true || (named?.elements.every((element) => element.isTypeOnly) ?? false);
    const from = specifier.startsWith('.')
      ? this.#files.get(withoutExtension(posix.join(posix.dirname(posix.normalize(source.fileName)), specifier)))
      : undefined;
    if (from === undefined) {
      this.#problem(
        source,
        node,
        `an import from "${specifier}", which is not one of the definitions files; definitions import types only from one another`,
      );
      return;
    }
    if (!typeOnly || named === undefined || clause?.name !== undefined) {
      this.#problem(
        source,
        node,
        `write the import from "${specifier}" as \`import type { A, B } from '${specifier}'\``,
      );
      return;
    }
    for (const element of named.elements) {
      if (element.propertyName !== undefined) {
        this.#problem(
          source,
          element,
          `${element.propertyName.text} is imported as ${element.name.text}; a type keeps its name across definitions files`,
        );
        continue;
      }
      this.#imports.push({ name: element.name.text, from, source, node: element });
    }
  }

  finish(sources: string[]): Model {
    for (const imported of this.#imports) {
      const declaration = this.#declarations.get(imported.name);
      if (declaration?.source.fileName !== imported.from && !this.#rejected.has(imported.name)) {
        this.#problem(imported.source, imported.node, `${imported.from} declares no ${imported.name}`);
      }
    }
    const model: Model = { sources, services: [], objects: [], enums: [] };
    for (const declaration of this.#declarations.values()) {
      if (declaration.kind === 'service') model.services.push(this.#service(declaration.node, declaration.source));
      else if (declaration.kind === 'object') model.objects.push(this.#object(declaration.node, declaration.source));
      else {
        const enumType = this.#enum(declaration.node, declaration.source);
        if (enumType !== undefined) model.enums.push(enumType);
      }
    }
    this.#checkServices(model);
    this.#checkCycles(model);
    if (this.#problems.length > 0) throw new DefinitionError(this.#problems);
    return model;
  }

  #declare(
    node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration,
    source: ts.SourceFile,
    kind: Declaration['kind'] | 'mixed',
  ): void {
    const name = node.name.text;
    const reject = (reason: string) => {
      this.#rejected.add(name);
      this.#problem(source, node, reason);
    };
    if (node.typeParameters !== undefined) {
      reject(`${name} has type parameters; generics are not supported`);
      return;
    }
    if (ts.isInterfaceDeclaration(node) && node.heritageClauses !== undefined) {
      reject(`${name} extends another type; declare all of its fields in it`);
      return;
    }
    if (kind === 'mixed') {
      reject(`${name} mixes methods and fields; a service has only methods, an object only fields`);
      return;
    }
    const existing = this.#declarations.get(name);
    if (existing !== undefined) {
      this.#problem(source, node, `${name} is declared twice (first at ${position(existing.source, existing.node)})`);
      return;
    }
    this.#declarations.set(name, { kind, node, source } as Declaration);
  }

  #service(node: ts.InterfaceDeclaration, source: ts.SourceFile): Service {
    const docs = this.#docs(node, source, new Set());
    const methods: Method[] = [];
    for (const member of node.members) {
      if (!ts.isMethodSignature(member)) {
        this.#problem(source, member, `${node.name.text} is a service; it may only have methods`);
        continue;
      }
      const method = this.#method(node.name.text, member, source);
      if (method !== undefined) methods.push(method);
    }
    if (methods.length === 0 && this.#problems.length === 0) {
      this.#problem(source, node, `service ${node.name.text} has no methods`);
    }
    return { name: node.name.text, comment: docs.comment, methods };
  }

  #method(service: string, node: ts.MethodSignature, source: ts.SourceFile): Method | undefined {
    const tsName = memberName(node);
    if (tsName === undefined)
      return this.#problem(source, node, `${service} has a method whose name is not a plain identifier`);
    const where = `${service}.${tsName}`;
    if (node.typeParameters !== undefined)
      return this.#problem(source, node, `${where} has type parameters; generics are not supported`);
    if (node.questionToken !== undefined)
      return this.#problem(source, node, `${where} is optional; every method of a service must exist`);
    const [parameter, ...more] = node.parameters;
    if (parameter === undefined || more.length > 0) {
      return this.#problem(
        source,
        node,
        `${where} takes ${node.parameters.length} parameters; a method takes exactly one request object`,
      );
    }
    const input = this.#objectReference(parameter.type, source, parameter, `the request of ${where}`);
    const output = this.#objectReference(node.type, source, node, `the response of ${where}`);
    const docs = this.#docs(node, source, methodTags);
    if (input === undefined || output === undefined) return undefined;
    const name = capitalize(tsName);
    return {
      name,
      nameLowerCamel: tsName,
      wireName: `${service}.${name}`,
      inputObject: input,
      outputObject: output,
      comment: docs.comment,
      idempotent: docs.tags.has('idempotent'),
    };
  }

  #objectReference(
    type: ts.TypeNode | undefined,
    source: ts.SourceFile,
    at: ts.Node,
    what: string,
  ): string | undefined {
    if (type === undefined) return this.#problem(source, at, `${what} has no type`);
    if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName) && type.typeArguments === undefined) {
      const declaration = this.#declarations.get(type.typeName.text);
      if (declaration?.kind === 'object') return type.typeName.text;
      if (this.#rejected.has(type.typeName.text)) return undefined;
    }
    return this.#problem(
      source,
      type,
      `${what} must be an interface with fields declared in the definitions, not ${JSON.stringify(type.getText(source))}`,
    );
  }

  #object(node: ts.InterfaceDeclaration, source: ts.SourceFile): ObjectType {
    const docs = this.#docs(node, source, new Set());
    const fields: Field[] = [];
    const seen = new Set<string>();
    // definitions.go names a field by its name with the first letter raised: `id` and `Id` would be one Go field.
    const goNames = new Map<string, string>();
    for (const member of node.members) {
      const field = this.#field(node.name.text, member, source);
      if (field === undefined) continue;
      const goName = capitalize(field.name);
      if (seen.has(field.name)) this.#problem(source, member, `${node.name.text}.${field.name} is declared twice`);
      else if (goNames.has(goName)) {
        this.#problem(
          source,
          member,
          `${node.name.text}.${field.name} and ${node.name.text}.${goNames.get(goName)} would both be ${goName} in Go (definitions.go); rename one`,
        );
      }
      seen.add(field.name);
      goNames.set(goName, field.name);
      fields.push(field);
    }
    return { name: node.name.text, comment: docs.comment, fields };
  }

  #field(owner: string, member: ts.TypeElement, source: ts.SourceFile): Field | undefined {
    if (ts.isIndexSignatureDeclaration(member)) {
      return this.#problem(source, member, `${owner} has an index signature; use a field of type Record<string, T>`);
    }
    if (!ts.isPropertySignature(member)) {
      return this.#problem(source, member, `${owner} has a ${describeMember(member)}; objects may only have fields`);
    }
    const name = memberName(member);
    if (name === undefined)
      return this.#problem(source, member, `${owner} has a field whose name is not a plain identifier`);
    const where = `${owner}.${name}`;
    const docs = this.#docs(member, source, fieldTags);
    if (member.type === undefined) return this.#problem(source, member, `${where} has no type`);
    const type = this.#fieldType(member.type, source, where, docs.tags.has('integer'));
    if (type === undefined) return undefined;
    const constraints = this.#constraints(docs.tags, type, source, member, where);
    const field: Field = {
      name,
      comment: docs.comment,
      type,
      optional: member.questionToken !== undefined,
      constraints,
    };
    const example = docs.tags.get('example');
    if (example !== undefined) field.example = parseExample(example);
    return field;
  }

  #fieldType(node: ts.TypeNode, source: ts.SourceFile, where: string, integer: boolean): FieldType | undefined {
    const text = node.getText(source);
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return scalar('string');
      case ts.SyntaxKind.BooleanKeyword:
        return scalar('boolean');
      case ts.SyntaxKind.NumberKeyword:
        return integer ? { ...scalar('integer'), typeName: 'number' } : scalar('number');
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return this.#problem(source, node, `${where} is ${text}; give it a concrete type`);
    }
    if (ts.isParenthesizedTypeNode(node)) return this.#fieldType(node.type, source, where, integer);
    if (ts.isArrayTypeNode(node)) return this.#array(node.elementType, source, where, integer);
    if (ts.isUnionTypeNode(node) || ts.isLiteralTypeNode(node)) {
      const values = stringLiterals(node);
      if (values === undefined) {
        return this.#problem(
          source,
          node,
          `${where} is ${JSON.stringify(text)}; only unions of string literals are supported (use ?: for an optional field)`,
        );
      }
      return {
        kind: 'enum',
        typeName: values.map((value) => JSON.stringify(value)).join(' | '),
        multiple: false,
        isObject: false,
        enumValues: values,
      };
    }
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      const name = node.typeName.text;
      const args = node.typeArguments ?? [];
      const [first, second] = args;
      if (name === 'Array' && first !== undefined && args.length === 1)
        return this.#array(first, source, where, integer);
      if (name === 'Record' && first !== undefined && second !== undefined && args.length === 2) {
        if (first.kind !== ts.SyntaxKind.StringKeyword) {
          return this.#problem(source, node, `${where} is ${text}; map keys must be string`);
        }
        const values = this.#fieldType(second, source, where, integer);
        return (
          values && {
            kind: 'map',
            typeName: `Record<string, ${values.typeName}>`,
            multiple: false,
            isObject: values.isObject,
            values,
          }
        );
      }
      if (args.length > 0) return this.#problem(source, node, `${where} is ${text}; generic types are not supported`);
      const declaration = this.#declarations.get(name);
      if (declaration?.kind === 'object')
        return { kind: 'object', typeName: name, multiple: false, isObject: true, objectName: name };
      if (declaration?.kind === 'enum')
        return { kind: 'enum', typeName: name, multiple: false, isObject: false, objectName: name };
      if (this.#rejected.has(name)) return undefined;
      if (declaration?.kind === 'service')
        return this.#problem(source, node, `${where} is the service ${name}; fields hold data, not services`);
      return this.#problem(source, node, `${where} is ${name}, which is not declared in the definitions`);
    }
    return this.#problem(
      source,
      node,
      `${where} is ${JSON.stringify(text)}, a ${describeType(node)}, which is not supported`,
    );
  }

  #array(element: ts.TypeNode, source: ts.SourceFile, where: string, integer: boolean): FieldType | undefined {
    const items = this.#fieldType(element, source, where, integer);
    if (items === undefined) return undefined;
    const typeName =
      items.kind === 'enum' && items.objectName === undefined ? `(${items.typeName})[]` : `${items.typeName}[]`;
    return { kind: 'array', typeName, multiple: true, isObject: items.isObject, items };
  }

  #constraints(
    tags: Map<string, string>,
    type: FieldType,
    source: ts.SourceFile,
    at: ts.Node,
    where: string,
  ): Constraints {
    const constraints: Constraints = {};
    // String and number rules on an array describe its elements.
    const element = type.kind === 'array' ? type.items : type;
    const need = (rule: string, ok: boolean, wants: string) => {
      if (!ok) this.#problem(source, at, `${where} has @${rule}, which needs ${wants}, but it is ${type.typeName}`);
      return ok;
    };
    if (tags.has('integer') && !(element.kind === 'integer')) need('integer', false, 'a number');
    for (const rule of stringRules) {
      const value = tags.get(rule);
      if (value === undefined || !need(rule, element.kind === 'string', 'a string or string[]')) continue;
      if (rule === 'pattern') {
        if (isRegExp(value)) constraints.pattern = value;
        else this.#problem(source, at, `${where} has @pattern ${value}, which is not a valid regular expression`);
      } else if (rule === 'format') {
        if ((formats as readonly string[]).includes(value)) constraints.format = value as Format;
        else this.#problem(source, at, `${where} has @format ${value}; supported formats are ${formats.join(', ')}`);
      } else {
        const count = this.#count(value, source, at, where, rule);
        if (count !== undefined) constraints[rule] = count;
      }
    }
    for (const rule of numberRules) {
      const value = tags.get(rule);
      if (value === undefined || !need(rule, element.kind === 'number' || element.kind === 'integer', 'a number'))
        continue;
      const number = Number(value);
      if (value.trim() === '' || !Number.isFinite(number))
        this.#problem(source, at, `${where} has @${rule} ${value}, which is not a number`);
      else constraints[rule] = number;
    }
    for (const rule of arrayRules) {
      const value = tags.get(rule);
      if (value === undefined || !need(rule, type.kind === 'array', 'an array')) continue;
      const count = this.#count(value, source, at, where, rule);
      if (count !== undefined) constraints[rule] = count;
    }
    return constraints;
  }

  #count(value: string, source: ts.SourceFile, at: ts.Node, where: string, rule: string): number | undefined {
    if (/^\d+$/.test(value.trim())) return Number(value);
    return this.#problem(source, at, `${where} has @${rule} ${JSON.stringify(value)}; it takes a whole number`);
  }

  #enum(node: ts.TypeAliasDeclaration, source: ts.SourceFile): EnumType | undefined {
    const values = stringLiterals(node.type);
    if (values === undefined) {
      return this.#problem(
        source,
        node,
        `type ${node.name.text} = ${node.type.getText(source)} is not supported; a type alias must be a union of string literals`,
      );
    }
    return { name: node.name.text, comment: this.#docs(node, source, new Set()).comment, values };
  }

  /** The doc comment's text, and its tags checked against the ones this place allows. */
  #docs(
    node: ts.Node,
    source: ts.SourceFile,
    allowed: ReadonlySet<string>,
  ): { comment: string; tags: Map<string, string> } {
    const doc = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc).at(-1);
    const tags = new Map<string, string>();
    if (doc === undefined) return { comment: '', tags };
    for (const tag of doc.tags ?? []) {
      const name = tag.tagName.text;
      if (!allowed.has(name)) {
        const known =
          allowed.size === 0
            ? 'no tags are allowed here'
            : `allowed here: ${[...allowed].map((t) => `@${t}`).join(', ')}`;
        this.#problem(source, tag, `unknown tag @${name} (${known})`);
        continue;
      }
      if (tags.has(name)) this.#problem(source, tag, `@${name} is given twice`);
      tags.set(name, (ts.getTextOfJSDocComment(tag.comment) ?? '').trim());
    }
    return { comment: (ts.getTextOfJSDocComment(doc.comment) ?? '').trim(), tags };
  }

  /**
   * Files that declare no service are a mistake (a type-only file on its own serves nothing). No files
   * at all is a project with no API yet, such as one whose example was just deleted: its generated
   * package is empty and still builds.
   */
  #checkServices(model: Model): void {
    if (model.services.length === 0 && model.sources.length > 0 && this.#problems.length === 0) {
      this.#problems.push({
        file: model.sources.join(', '),
        line: 1,
        reason: 'no service is declared; a service is an interface with methods',
      });
    }
  }

  /** Schemas are inlined, so an object that contains itself could never be written out. */
  #checkCycles(model: Model): void {
    const objects = new Map(model.objects.map((object) => [object.name, object]));
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, trail: string[]): void => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') {
        // Every object in the model was declared: that is how it got there.
        const { source, node } = this.#declarations.get(name) as Declaration;
        this.#problem(
          source,
          node,
          `${[...trail.slice(trail.indexOf(name)), name].join(' → ')} is recursive; recursive types are not supported`,
        );
        return;
      }
      state.set(name, 'visiting');
      for (const field of objects.get(name)?.fields ?? []) {
        for (const reference of objectsIn(field.type)) visit(reference, [...trail, name]);
      }
      state.set(name, 'done');
    };
    for (const name of objects.keys()) visit(name, []);
  }

  #problem(source: ts.SourceFile, node: ts.Node, reason: string): undefined {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    this.#problems.push({ file: source.fileName, line: line + 1, reason });
    return undefined;
  }
}

function classify(node: ts.InterfaceDeclaration): 'service' | 'object' | 'mixed' {
  const methods = node.members.filter(ts.isMethodSignature).length;
  if (methods === 0) return 'object';
  return methods === node.members.length ? 'service' : 'mixed';
}

function scalar(kind: 'string' | 'number' | 'integer' | 'boolean'): FieldType {
  return { kind, typeName: kind, multiple: false, isObject: false };
}

function stringLiterals(node: ts.TypeNode): string[] | undefined {
  const members = ts.isUnionTypeNode(node) ? node.types : [node];
  const values: string[] = [];
  for (const member of members) {
    if (!ts.isLiteralTypeNode(member) || !ts.isStringLiteral(member.literal)) return undefined;
    values.push(member.literal.text);
  }
  return values;
}

function memberName(node: ts.MethodSignature | ts.PropertySignature): string | undefined {
  return ts.isIdentifier(node.name) ? node.name.text : undefined;
}

function parseExample(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isRegExp(pattern: string): boolean {
  try {
    // Ajv compiles patterns with the u flag, so the check must too.
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function withoutExtension(path: string): string {
  return path.replace(/\.(ts|js|mts|mjs)$/, '');
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function position(source: ts.SourceFile, node: ts.Node): string {
  return `${source.fileName}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
}

function describeStatement(node: ts.Statement): string {
  if (ts.isClassDeclaration(node)) return 'a class';
  if (ts.isFunctionDeclaration(node)) return 'a function';
  if (ts.isEnumDeclaration(node)) return 'a TypeScript enum (use a union of string literals)';
  if (ts.isImportEqualsDeclaration(node))
    return 'an import (import types from another definitions file with `import type`)';
  if (ts.isVariableStatement(node)) return 'a variable';
  if (ts.isModuleDeclaration(node)) return 'a namespace';
  if (ts.isExportDeclaration(node) || ts.isExportAssignment(node)) return 'a re-export';
  return `a ${ts.SyntaxKind[node.kind]}`;
}

function describeMember(node: ts.TypeElement): string {
  if (ts.isMethodSignature(node)) return 'method';
  if (ts.isCallSignatureDeclaration(node)) return 'call signature';
  if (ts.isConstructSignatureDeclaration(node)) return 'constructor';
  return ts.SyntaxKind[node.kind];
}

function describeType(node: ts.TypeNode): string {
  if (ts.isFunctionTypeNode(node)) return 'function type';
  if (ts.isTypeLiteralNode(node)) return 'inline object type (declare it as an interface)';
  if (ts.isTupleTypeNode(node)) return 'tuple';
  if (ts.isIntersectionTypeNode(node)) return 'intersection';
  if (ts.isLiteralTypeNode(node)) return 'literal type';
  return ts.SyntaxKind[node.kind];
}
