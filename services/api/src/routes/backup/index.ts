import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../../deps.js';
import createRoute from './create.js';
import deleteRoute from './delete.js';
import healthRoute from './health.js';
import drillRoutes from './drill.js';
import jobsRoute from './jobs.js';
import listRoute from './list.js';
import pinRoutes from './pin.js';
import readRoutes from './read.js';
import resetRoute from './reset.js';
import restoreRoute from './restore.js';
import restoreEntityRoute from './restore-entity.js';
import restoresRoute from './restores.js';
import undoRoutes from './undo.js';
import verifyRoute from './verify.js';

/** The /api/backup/* routes owned here (schedule and dependencies are registered beside them in app.ts). */
const backupRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  for (const plugin of [
    createRoute,
    jobsRoute,
    listRoute,
    readRoutes,
    deleteRoute,
    restoreRoute,
    restoreEntityRoute,
    resetRoute,
    verifyRoute,
    healthRoute,
    drillRoutes,
    pinRoutes,
    undoRoutes,
    restoresRoute,
  ]) {
    await app.register(plugin, deps);
  }
};

export default backupRoutes;
