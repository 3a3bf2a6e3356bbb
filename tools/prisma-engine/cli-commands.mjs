// The binary's `cli <command>` mode, which the CLI runs before `migrate dev|deploy|reset`
// and `db push`. No wasm needed: these only probe or create the database with pg.
import pg from 'pg';
import { parseDatabaseUrl, runOnServer } from './pg-adapter.mjs';

/** One native-format log line; the CLI parses stderr of `cli` commands line by line as JSON. */
export function logLine(level, message, extra = {}) {
  const fields = { message, ...extra };
  return `${JSON.stringify({ timestamp: new Date().toISOString(), level, fields, target: 'schema_engine::logger' })}\n`;
}

const describeServer = (url) => `${url.hostname || 'localhost'}:${url.port || 5432}`;
const databaseName = (url) => decodeURIComponent(url.pathname.slice(1)) || 'postgres';

/** Maps pg errors to the Prisma codes the CLI acts on (P1003 makes it call create-database). */
function toPrismaError(error, url) {
  const server = describeServer(url);
  switch (error?.code) {
    case '3D000':
      return { error_code: 'P1003', message: `Database \`${databaseName(url)}\` does not exist on the database ` +
        `server at \`${server}\`.` };
    case '42P04':
      return { error_code: 'P1009', message: `Database \`${databaseName(url)}\` already exists on the database ` +
        `server at \`${server}\`` };
    case '28P01':
    case '28000':
      return { error_code: 'P1000', message: `Authentication failed against database server at \`${server}\`, the ` +
        `provided database credentials for \`${decodeURIComponent(url.username)}\` are not valid.` };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
      return { error_code: 'P1001', message: `Can't reach database server at \`${server}\`\n\nPlease make sure your ` +
        `database server is running at \`${server}\`.` };
    default:
      return { message: error?.message ?? String(error) };
  }
}

async function canConnect(url) {
  const { poolConfig } = parseDatabaseUrl(url);
  const client = new pg.Client({ connectionString: poolConfig.connectionString, options: poolConfig.options });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates the database the URL names (through the `postgres` database) and returns its name. */
export async function createDatabase(url) {
  const parsed = parseDatabaseUrl(url).url;
  const name = databaseName(parsed);
  await runOnServer(parsed, [`CREATE DATABASE "${name.replaceAll('"', '""')}"`]);
  return name;
}

/**
 * Runs `cli can-connect-to-database` or `cli create-database` and returns the exit code.
 * Trap: the CLI skips the first stderr line and then requires every line to be JSON.
 */
export async function runCliCommand(command, datasource) {
  process.stderr.write(logLine('INFO', `Starting schema engine stand-in: cli ${command}`));
  const url = datasource.url;
  try {
    if (!url) throw new Error('No datasource url given (--datasource).');
    if (command === 'can-connect-to-database') await canConnect(url);
    else if (command === 'create-database') process.stderr.write(logLine('INFO', `Database '` +
      `${await createDatabase(url)}' was created.`));
    else throw new Error(`Unknown cli command: ${command}`);
    return 0;
  } catch (error) {
    const mapped = url ? toPrismaError(error, parseDatabaseUrl(url).url) : { message: error.message };
    process.stderr.write(logLine('ERROR', mapped.message, { error_code: mapped.error_code, is_panic: false }));
    return 1;
  }
}
