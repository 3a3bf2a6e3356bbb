// The driver-adapter factory handed to the wasm schema engine: @prisma/adapter-pg 7.10
// with the four defects the engine trips on worked around (see
// /work/shared/notes/prisma-offline.md). Everything here is about PostgreSQL only.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/** Defect 1: adapter-pg cannot map PostgreSQL's internal `"char"` type, which the catalog queries return. */
function reportCharAsText(result) {
  for (const one of Array.isArray(result) ? result : [result]) {
    for (const field of one?.fields ?? []) {
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
  }
  return result;
}

// The pool calls query() with a callback, transactions call it without (promise).
class CharAsTextClient extends pg.Client {
  query(config, values, callback) {
    const reporting = (done) => (err, res) => done(err, err ? res : reportCharAsText(res));
    if (typeof values === 'function') return super.query(config, reporting(values));
    if (typeof callback === 'function') return super.query(config, values, reporting(callback));
    const pending = super.query(config, values);
    return typeof pending?.then === 'function' ? pending.then(reportCharAsText) : pending;
  }
}

const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;

/**
 * Splits a Prisma connection URL into a pg pool config and the Prisma schema name.
 * Defect 4: adapter-pg only qualifies names with `?schema=`; unqualified statements in
 * migrations would land in `public`, so the schema also goes into search_path.
 */
export function parseDatabaseUrl(url) {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  const pgOptions = [parsed.searchParams.get('options')];
  // libpq splits `options` on unescaped spaces; quoting keeps the name's case.
  if (schema) pgOptions.push(`-c search_path=${quoteIdent(schema).replace(/[\\ ]/g, '\\$&')}`);
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('options');
  const options = pgOptions.filter(Boolean).join(' ') || undefined;
  return { url: parsed, schema, poolConfig: { connectionString: parsed.href, options, Client: CharAsTextClient } };
}

/** A copy of `url` that points at another database on the same server (pg lets the URL win over `database`). */
function withDatabase(url, database) {
  const copy = new URL(url.href);
  copy.pathname = `/${encodeURIComponent(database)}`;
  return copy;
}

/**
 * Runs statements on a short-lived connection; falls back to the `postgres` database when the target does not exist
 * yet.
 */
export async function runOnServer(url, statements) {
  for (const target of [url, withDatabase(url, 'postgres')]) {
    const { poolConfig } = parseDatabaseUrl(target.href);
    const client = new pg.Client({ connectionString: poolConfig.connectionString, options: poolConfig.options });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      if (error?.code === '3D000' && target === url) continue;
      throw error;
    }
    try {
      for (const sql of statements) await client.query(sql);
      return;
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** Connects adapter-pg to one database, with executeScript fixed. */
async function connectAdapter(url) {
  const { poolConfig, schema } = parseDatabaseUrl(url);
  const adapter = await new PrismaPg(poolConfig, { schema }).connect();
  // Defect 3: adapter-pg splits scripts on every `;`, which breaks `$$` bodies and
  // applies half a migration on failure. One simple-protocol query runs the whole
  // script in an implicit transaction, as the native engine does.
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  return adapter;
}

/** Shadow databases still alive, so an interrupted run can drop them on the way out. */
const liveShadowDatabases = new Set();

/**
 * Builds the factory for `SchemaEngine.new`, for the datasource the CLI passed.
 * Trap: the wasm engine never resets a configured shadow database, so it is emptied here.
 */
export function createAdapterFactory({ url, shadowDatabaseUrl }) {
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectAdapter(url),
    async connectToShadowDb() {
      if (shadowDatabaseUrl) {
        const { url: shadowUrl, schema = 'public' } = parseDatabaseUrl(shadowDatabaseUrl);
        await runOnServer(shadowUrl, [`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`, `CREATE SCHEMA ` +
          `${quoteIdent(schema)}`]);
        return connectAdapter(shadowDatabaseUrl);
      }
      // Defect 2: adapter-pg's own shadow database ignores the new name (it uses the
      // main database) and drops it while its pool is still open. The shadow URL keeps
      // `?schema=`, so migrations land in the same schema as on the main database.
      const mainUrl = new URL(url);
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      await runOnServer(mainUrl, [`CREATE DATABASE ${quoteIdent(name)}`]);
      liveShadowDatabases.add(name);
      const adapter = await connectAdapter(withDatabase(mainUrl, name).href);
      const release = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        await release();
        await dropShadowDatabase(mainUrl, name);
      };
      return adapter;
    },
    dropLeftovers: () => Promise.all([...liveShadowDatabases].map((name) => dropShadowDatabase(new URL(url), name))),
  };
}

async function dropShadowDatabase(mainUrl, name) {
  liveShadowDatabases.delete(name);
  await runOnServer(mainUrl, [`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`]);
}
