export { DefinitionError, type DefinitionProblem } from './errors.js';
export { type GeneratedFile, type Target, generateTarget, readDefinitions, render, staleFiles } from './generate.js';
export * from './model.js';
export { type DefinitionFile, parseDefinitions } from './parser.js';
