// Small SQL helpers for the scripts. Unlike the other files here this one needs `pg` from node_modules:
// import it only after dependencies are installed.
import { createRequire } from 'node:module';
import path from 'node:path';
import { repoRoot } from './setup.mjs';

const require = createRequire(path.join(repoRoot, 'package.json'));

/** Opens a pg client on `url`, runs `fn(client)`, and always closes the client. */
export async function withClient(url, fn) {
  const pg = require('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `url` with its database name replaced by `database`. */
export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

const ident = (name) => `"${name.replaceAll('"', '""')}"`;

/** Creates `name` on the server of `adminUrl` when it does not exist yet. */
export async function createDatabaseIfMissing(adminUrl, name) {
  await withClient(adminUrl, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await c.query(`CREATE DATABASE ${ident(name)}`);
  });
}

/** Drops `name` (ending its sessions first) and creates it empty. */
export async function recreateDatabase(adminUrl, name) {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${ident(name)}`);
  });
}

/** Drops `name` if it exists, ending its sessions first. */
export async function dropDatabase(adminUrl, name) {
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
}

/**
 * True when the demo-data tables (unions, members, loan types, loans, repayments) hold no row.
 * `users` is left out: the first-admin bootstrap puts a row there on every fresh start.
 */
export async function isDomainDataEmpty(url) {
  return withClient(url, async (c) => {
    const { rows } = await c.query(`SELECT (SELECT count(*) FROM unions) + (SELECT count(*) FROM union_members)
      + (SELECT count(*) FROM loan_types) + (SELECT count(*) FROM loans) + (SELECT count(*) FROM repayments) AS n`);
    return Number(rows[0].n) === 0;
  });
}

/** Waits until a SQL connection to `url` succeeds (TCP can accept before the server takes logins). */
export async function waitForSql(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await withClient(url, (c) => c.query('SELECT 1'));
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`PostgreSQL at ${new URL(url).host} does not accept connections: ${err.message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
