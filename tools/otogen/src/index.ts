export { DefinitionError, type DefinitionProblem } from './errors.js';
export { type GeneratedFile, generateTarget, readDefinitions, render, staleFiles, type Target } from './generate.js';
export * from './model.js';
export { type DefinitionFile, parseDefinitions } from './parser.js';
