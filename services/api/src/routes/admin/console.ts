import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Content-hashed file names (Vite's `assets/name-<hash>.js`) never change content: cache them for a year. */
const HASHED = /[\\/]assets[\\/][^\\/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * The console's static files only load from this origin; the API answers its fetches; nothing may frame it.
 * `style-src 'unsafe-inline'` is not needed: Vite emits one stylesheet file.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/**
 * GET /admin: the admin console, static files built by `npm run build` into `dir` (CONSOLE_DIR). The files are
 * public (the console logs in through the API); the data it shows is not. index.html is revalidated on every
 * load, hashed assets are immutable. When the console is not built, /admin says how to build it.
 */
export async function registerConsole(app: FastifyInstance, opts: { dir: string }): Promise<void> {
  const root = path.resolve(opts.dir);
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply
        .header('Content-Security-Policy', CSP)
        .header('X-Content-Type-Options', 'nosniff')
        .header('Referrer-Policy', 'no-referrer');
    });
    if (!existsSync(path.join(root, 'index.html'))) {
      const notBuilt =
        `The admin console is not built (no ${path.join(root, 'index.html')}): run \`npm run ` +
        `build\`, or \`npm start\`, which builds it.`;
      for (const url of ['/admin', '/admin/', '/admin/*']) {
        scope.get(url, { schema: { hide: true } }, async (_request, reply) =>
          reply.code(503).type('text/plain; charset=utf-8').send(notBuilt),
        );
      }
      return;
    }
    // `/admin` → `/admin/`, so the page's relative asset URLs resolve under /admin/.
    scope.get('/admin', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/admin/', 301));
    await scope.register(fastifyStatic, {
      root,
      prefix: '/admin/',
      index: 'index.html',
      cacheControl: false,
      setHeaders(reply, file) {
        reply.header('Cache-Control', HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  });
}
