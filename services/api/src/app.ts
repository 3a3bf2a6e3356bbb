import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { ApiDeps } from './deps.js';
import { authenticate, registerJwt, requirePasswordChanged, requireRole } from './plugins/auth.js';
import { HTTP_STATUS, registerErrorHandler } from './plugins/error-handler.js';
import { registerJsonBodyParser } from './plugins/json-body.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { RequestLogController } from './plugins/request-log.js';
import { registerConsole } from './routes/admin/console.js';
import queueSessionRoute from './routes/admin/queue-session.js';
import { registerQueueDashboard } from './routes/admin/queues.js';
import authRoutes from './routes/auth/index.js';
import backupRoutes from './routes/backup/index.js';
import dependencyRoutes from './routes/dependencies/index.js';
import healthRoutes from './routes/health/index.js';
import scheduleRoutes from './routes/schedule/index.js';
import systemRoutes from './routes/system/index.js';

/*
 * Route pattern (README for routes/):
 * - One folder per resource under routes/, each file default-exports a `FastifyPluginAsyncZod<ApiDeps>`
 *   that receives the deps as its plugin options: `app.register(plugin, deps)`. Dependencies travel as
 *   options, never as decorators (decorators are for framework concerns only).
 * - Routes declare their full URL (`/api/backup/schedule`), a zod schema (`.strict()` objects, so unknown
 *   fields are a 400) and call ONE core function; 5–15 lines, no try/catch: a thrown AppError becomes the
 *   right status in plugins/error-handler.ts, the only place that maps codes to statuses.
 * - Answers use the envelope helper `ok(data, message?)` from reply.ts; a queued job answers
 *   `reply.code(202).send(accepted(queued, message))`.
 * - Every route declares a `response` schema per status it answers (schemas/: `okResponse`, `acceptedResponse`,
 *   `errorResponses(codes)`), with an example. Fastify serializes with them, so a field missing from a schema
 *   vanishes from the answer: write them from the core mapper (`viewOf<T>()` checks the keys). Shared params
 *   (`:id`, `:operationId`, `:jobId`) come from schemas/params.ts.
 * - Anything registered inside the `admin` scope below is behind `authenticate` + `requireRole('ADMIN')`.
 *   Mutating routes add `preHandler: rejectDuringMaintenance(deps)` (plugins/maintenance-guard.ts).
 * - Request-scoped user: `request.user` ({ id, sessionId, username, role }), typed in plugins/auth.ts.
 */

/**
 * Builds the API (all plugins and routes registered, `ready()` awaited) without listening, so tests use
 * `app.inject()` and main.ts calls `listen`. Never constructs a BullMQ Worker: jobs are only enqueued.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const base: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: deps.config.TRUST_PROXY,
    bodyLimit: 1024 * 1024,
    // One info line per request instead of two (plugins/request-log.ts).
    logController: new RequestLogController(),
    // A path the router cannot decode (`%zz`) or a path parameter over 100 characters. These answers bypass
    // the error handler (no route context yet), so the envelope is written here; the status still comes from its table.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      const message =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL path is not valid';
      reply.code(HTTP_STATUS.VALIDATION_ERROR).send({ success: false, error: { code: 'VALIDATION_ERROR', message } });
    },
  });
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(base);
  // Bounded nesting before anything recursive reads a body (plugins/json-body.ts).
  registerJsonBodyParser(base);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Millennium Potters backup service',
        version: '1.0.0',
        description:
          'Every answer is `{ success: true, data, message? }` or `{ success: false, error: { code, message, ' +
          'details? } }` (the `ApiError` schema: ' +
          'its `code` is one of a closed set). Each route lists the codes it can answer under its error statuses. ' +
          'Jobs answer 202 ' +
          'with `{ jobId, statusUrl }`: poll GET /api/backup/jobs/:jobId.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
    // Puts the shared schemas (`ApiError`) under components.schemas, where the routes' `$ref`s point.
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // Counted in Redis, shared by every API replica; fails open when Redis is down (plugins/rate-limit.ts).
  await registerRateLimit(base, deps);
  await registerJwt(base, deps);
  // Only the queue dashboard reads a cookie (its own, scoped to /admin/queues); the API itself takes bearer tokens.
  await app.register(fastifyCookie);
  registerMetrics(base, deps);

  await app.register(healthRoutes, deps);
  await app.register(authRoutes, deps);
  await app.register(async (admin) => {
    admin.addHook('onRequest', authenticate(deps));
    admin.addHook('onRequest', requireRole('ADMIN'));
    admin.addHook('onRequest', requirePasswordChanged());
    await admin.register(backupRoutes, deps);
    await admin.register(scheduleRoutes, deps);
    await admin.register(dependencyRoutes, deps);
    await admin.register(systemRoutes, deps);
    await admin.register(queueSessionRoute, deps);
  });
  // The console's static files (public; it logs in through the API) and the queue dashboard (admins only).
  await registerConsole(base, { dir: deps.config.CONSOLE_DIR });
  await registerQueueDashboard(base, deps);

  await app.ready();
  return base;
}
