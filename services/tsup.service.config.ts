import { defineConfig } from 'tsup';
import { serviceBundle } from './bundle.js';

// Run from a service's folder: `tsup --config ../tsup.service.config.ts`.
export default defineConfig((flags) => serviceBundle(process.cwd(), flags));
