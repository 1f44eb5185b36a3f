/**
 * Standalone code from a compiler (Ajv's validators, fast-json-stringify's
 * serializers) `require`s that compiler's run-time helpers. Here each
 * `require("<module>")` becomes `<tableName>["<module>"]`, an entry of a table
 * the runtime package exports, so the generated code is an ES module whose
 * only import is the runtime, and the generated package needs no dependency
 * on the compiler. A helper the table lacks stops the generation, by name.
 */
export function requiresFromRuntime(
  code: string,
  table: Readonly<Record<string, unknown>>,
  tableName: string,
  compiler: string,
): string {
  return code.replace(/require\((["'])([^"']+)\1\)/g, (_call, _quote: string, module: string) => {
    if (!Object.hasOwn(table, module)) {
      throw new Error(`${compiler}'s precompiled code needs "${module}", which ${tableName} does not provide`);
    }
    return `${tableName}[${JSON.stringify(module)}]`;
  });
}
