export { type Config, ConfigError, loadConfig } from './config.js';
export { databaseModule, generateDatabases } from './databases.js';
export { DefinitionError, type DefinitionProblem } from './errors.js';
export {
  differingFiles,
  type GeneratedFile,
  generateTarget,
  readDefinitions,
  render,
  staleFiles,
  type Target,
  writeChangedFiles,
  writeFiles,
} from './generate.js';
export { type ApiHost, apiHosts } from './hosts.js';
export * from './model.js';
export { type DefinitionFile, parseDefinitions } from './parser.js';
export { type Renderer, RendererError } from './renderers.js';
