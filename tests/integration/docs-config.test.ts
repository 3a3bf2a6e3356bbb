import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { apiEnvSchema, bootstrapEnvSchema, workerEnvSchema } from '@mp/config';

const root = path.resolve(import.meta.dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

/** Every variable a service or script parses, by the schema that parses it. */
const schemas = { api: apiEnvSchema, worker: workerEnvSchema, bootstrap: bootstrapEnvSchema };
const configured = new Set(Object.values(schemas).flatMap((s) => Object.keys(s.shape)));

/** The rows of the README's "## Configuration" table, each with the variable names in its first cell. */
function readmeConfigurationTable(): { names: string[]; line: string }[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration'));
  if (!section) throw new Error('README has no "## Configuration" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => ({
      line,
      names: [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!),
    }));
}

describe('README configuration table', () => {
  const rows = readmeConfigurationTable();
  const documented = new Set(rows.flatMap((r) => r.names));

  it('has rows', () => {
    expect(rows.length).toBeGreaterThan(5);
  });

  it('documents every variable the config schemas read', () => {
    const missing = [...configured].filter((name) => !documented.has(name)).sort();
    expect(missing, 'variables parsed by a schema but absent from README ## Configuration').toEqual([]);
  });

  it('documents no variable that no config schema reads', () => {
    const unknown = [...documented].filter((name) => !configured.has(name)).sort();
    expect(unknown, 'variables in README ## Configuration that no schema parses').toEqual([]);
  });

  it('names the service of each row truthfully', () => {
    const wrong: string[] = [];
    for (const { line, names } of rows) {
      const service = (line.split('|')[2] ?? '').trim();
      const claimed = service === 'both' ? ['api', 'worker'] : service.split(/[ ,/+]+/).filter(Boolean);
      for (const name of names) {
        for (const s of claimed) {
          const schema = schemas[s as keyof typeof schemas];
          if (!schema) wrong.push(`${name}: unknown service "${s}"`);
          else if (!(name in schema.shape)) wrong.push(`${name}: README says ${s}, whose schema does not read it`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: unknown;
  environment?: Record<string, string>;
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
}

describe('docker-compose.yml', () => {
  const compose = parseYaml(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes?: Record<string, unknown>;
  };
  const services = compose.services;

  it('defines the whole stack: postgres, redis, api and worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'postgres', 'redis', 'worker']);
    expect(services.postgres!.image).toMatch(/^postgres:/);
    expect(services.redis!.image).toMatch(/^redis:/);
    expect(services.api!.build).toBeDefined();
    expect(services.worker!.build).toBeDefined();
  });

  it('gives postgres and redis health checks that the api and worker wait on', () => {
    for (const name of ['postgres', 'redis']) expect(services[name]!.healthcheck?.test, name).toBeDefined();
    for (const name of ['api', 'worker']) {
      expect(services[name]!.depends_on?.postgres?.condition, name).toBe('service_healthy');
      expect(services[name]!.depends_on?.redis?.condition, name).toBe('service_healthy');
    }
  });

  it('sets only variables the config schemas read, with the names npm start uses', () => {
    for (const name of ['api', 'worker']) {
      const env = services[name]!.environment ?? {};
      const unknown = Object.keys(env).filter((key) => !configured.has(key));
      expect(unknown, `${name}: variables no schema reads`).toEqual([]);
      const required = Object.entries(name === 'api' ? apiEnvSchema.shape : workerEnvSchema.shape)
        .filter(([, field]) => !(field as { safeParse(v: unknown): { success: boolean } }).safeParse(undefined).success)
        .map(([key]) => key);
      const missing = required.filter((key) => !(key in env));
      expect(missing, `${name}: required variables not set`).toEqual([]);
    }
  });

  it('keeps its data in named volumes', () => {
    expect(Object.keys(compose.volumes ?? {})).toEqual(expect.arrayContaining(['pgdata', 'redisdata', 'mpdata']));
  });
});
