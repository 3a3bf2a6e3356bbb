import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '@mp/core';
import type { ApiTestContext } from '@mp/testing';
import { HTTP_STATUS } from '../../services/api/src/plugins/error-handler.js';
import { registeredRoutes, startApiApp, stopApiApp } from './api-harness.js';

type Json = Record<string, unknown>;
interface Media {
  schema?: Json;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
/** Not part of the API: the docs themselves, the console's static files and bull-board's pages (all hidden). */
const UNDOCUMENTED = /^\/(docs|admin)(\/|\*|$)/;
/** Routes behind the admin scope: a token (401) and the ADMIN role with a changed password (403). */
const ADMIN_ONLY = /^\/api\/(backup|system)\//;
/** Routes for any live session. */
const SESSION_ONLY = new Set(['POST /api/auth/logout', 'POST /api/auth/change-password']);

const toOpenApiPath = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, '{$1}');
/** An example of the media (`example`, `examples`) or of its schema (`example`, where a content map puts it). */
const hasExample = (m: Media | undefined) =>
  m !== undefined &&
  (m.example !== undefined || Object.keys(m.examples ?? {}).length > 0 || m.schema?.example !== undefined);

/** Every `$ref` in the document, wherever it sits. */
function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const n of node) refsIn(n, out);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/**
 * /docs/json is the API's contract: every route is there with a schema for each status it answers, examples, and
 * the error codes it can return; and the document holds together as OpenAPI 3.0.
 */
describe('OpenAPI document at /docs/json', () => {
  let ctx: ApiTestContext;
  let app: FastifyInstance;
  let doc: {
    openapi: string;
    info: Json;
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, Json>; securitySchemes: Json };
  };

  beforeAll(async () => {
    ({ ctx, app } = await startApiApp());
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(() => stopApiApp(ctx, app));

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m]).map((m) => ({
        key: `${m.toUpperCase()} ${path}`,
        path,
        op: item[m] as Operation,
      })),
    );

  it('documents every registered route, and hides only the docs, console and queue-dashboard pages', () => {
    const routes = registeredRoutes(app);
    const documented = new Set(operations().map((o) => o.key));
    const api = routes.filter((r) => !UNDOCUMENTED.test(r.pattern));
    expect(api.length).toBeGreaterThan(25);
    const missing = api.map((r) => `${r.method} ${toOpenApiPath(r.pattern)}`).filter((k) => !documented.has(k));
    expect(missing).toEqual([]);
    expect([...documented].filter((k) => UNDOCUMENTED.test(k.split(' ')[1]!))).toEqual([]);
    expect(documented.size).toBe(api.length);
  });

  it('gives every route a success response and a schema for every status (401/403 where auth applies)', () => {
    const problems: string[] = [];
    for (const { key, path, op } of operations()) {
      const responses = op.responses ?? {};
      const statuses = Object.keys(responses);
      if (!statuses.some((s) => /^2\d\d$/.test(s))) problems.push(`${key}: no 2xx response`);
      for (const [status, response] of Object.entries(responses)) {
        if (!response.description) problems.push(`${key} ${status}: no description`);
        if (/^3\d\d$/.test(status)) continue; // a redirect has no body
        const media = Object.values(response.content ?? {});
        if (media.length === 0 || media.some((m) => !m.schema || Object.keys(m.schema).length === 0))
          problems.push(`${key} ${status}: no schema`);
      }
      if (op.security?.length !== 0 && !statuses.includes('401'))
        problems.push(`${key}: needs a token but documents no 401`);
      if (ADMIN_ONLY.test(path) && !(statuses.includes('401') && statuses.includes('403')))
        problems.push(`${key}: admin route without 401 and 403`);
      if (SESSION_ONLY.has(key) && !statuses.includes('401')) problems.push(`${key}: no 401`);
      if (!op.summary) problems.push(`${key}: no summary`);
    }
    expect(problems).toEqual([]);
  });

  it('shows at least one example per route, and one for every request body and success answer', () => {
    const problems: string[] = [];
    for (const { key, op } of operations()) {
      const bodies = Object.values(op.requestBody?.content ?? {});
      if (bodies.length > 0 && !bodies.some(hasExample)) problems.push(`${key}: request body without an example`);
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const json = response.content?.['application/json'];
        if (/^2\d\d$/.test(status) && json && !hasExample(json)) problems.push(`${key} ${status}: no example`);
      }
    }
    expect(problems).toEqual([]);
  });

  it(
    'answers errors with one ApiError schema whose code is the closed set of errors.ts, each status naming its ' +
      'codes',
    () => {
      const apiError = doc.components.schemas.ApiError as {
        properties: { code: { enum: string[] } };
        required: string[];
      };
      expect([...apiError.properties.code.enum].sort()).toEqual([...ERROR_CODES].sort());
      expect(apiError.required).toEqual(expect.arrayContaining(['code', 'message']));
      const problems: string[] = [];
      let errorResponses = 0;
      for (const { key, op } of operations()) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          const json = response.content?.['application/json'];
          const error = (json?.schema?.properties as Json | undefined)?.error as Json | undefined;
          if (!/^[45]\d\d$/.test(status) || !error) continue;
          errorResponses++;
          if (error.$ref !== '#/components/schemas/ApiError')
            problems.push(`${key} ${status}: error is not the ApiError schema`);
          const codes = Object.values(json?.examples ?? {}).map(
            (e) => (e.value as { error: { code: ErrorCode } }).error.code,
          );
          if (json?.example) codes.push((json.example as { error: { code: ErrorCode } }).error.code);
          if (codes.length === 0) problems.push(`${key} ${status}: no example code`);
          for (const code of codes) {
            if (String(HTTP_STATUS[code]) !== status)
              problems.push(`${key} ${status}: ${code} is answered with ${HTTP_STATUS[code]}`);
            if (!response.description?.includes(code))
              problems.push(`${key} ${status}: description does not name ${code}`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(errorResponses).toBeGreaterThan(60);
    },
  );

  it('holds together as an OpenAPI 3.0 document', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    expect(Object.keys(doc.components.securitySchemes)).toContain('bearerAuth');
    const problems: string[] = [];
    for (const ref of refsIn(doc)) {
      const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
      if (!name || !doc.components.schemas[name]) problems.push(`unresolved $ref ${ref}`);
    }
    for (const { key, path, op } of operations()) {
      if (!path.startsWith('/')) problems.push(`${key}: path does not start with /`);
      for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
        const param = op.parameters?.find((p) => p.in === 'path' && p.name === name);
        if (!param?.required) problems.push(`${key}: path parameter ${name} not declared as required`);
      }
      for (const status of Object.keys(op.responses ?? {}))
        if (!/^([1-5]\d\d|default)$/.test(status)) problems.push(`${key}: status ${status}`);
      for (const s of op.security ?? [])
        for (const scheme of Object.keys(s as Json))
          if (!(scheme in doc.components.securitySchemes)) problems.push(`${key}: unknown security scheme ${scheme}`);
      // OpenAPI 3.0 schema objects know `example`, not JSON Schema's `examples` array; no `type: "null"` either.
      const text = JSON.stringify(op);
      if (/"type":"null"/.test(text)) problems.push(`${key}: type null is not OpenAPI 3.0`);
      for (const media of [
        ...Object.values(op.requestBody?.content ?? {}),
        ...Object.values(op.responses ?? {}).flatMap((r) => Object.values(r.content ?? {})),
      ]) {
        if (JSON.stringify(media.schema ?? {}).includes('"examples":['))
          problems.push(`${key}: an examples array inside a schema`);
      }
    }
    expect(problems).toEqual([]);
  });
});
