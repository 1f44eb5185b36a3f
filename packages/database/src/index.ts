export type { ShippedMigration } from './applied.js';
export {
  type DatabaseLog,
  type DatabaseSchema,
  type OpenDatabaseOptions,
  openDatabase,
  type ServiceDatabase,
} from './open.js';
