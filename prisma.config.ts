import path from 'node:path';
import { defineConfig, env } from 'prisma/config';
import 'dotenv/config';

// The native schema engine cannot be downloaded here; a stand-in forwards to the
// wasm engine that ships inside the prisma package. An empty value restores the native download.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(import.meta.dirname, 'tools/prisma-engine/schema-engine.mjs');
process.env.CHECKPOINT_DISABLE ??= '1';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: env('DATABASE_URL') },
});
