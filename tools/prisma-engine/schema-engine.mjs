#!/usr/bin/env node
// Stand-in for Prisma's native `schema-engine` binary, which cannot be downloaded here.
// prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY at this file; it speaks the
// binary's command line and JSON-RPC protocol and forwards to the wasm engine shipped
// in the prisma package. Background and the defects worked around:
// /work/shared/notes/prisma-offline.md. PostgreSQL only.
import { readFile } from 'node:fs/promises';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { createDatabase, logLine, runCliCommand } from './cli-commands.mjs';
import { createAdapterFactory } from './pg-adapter.mjs';
import { VERIFIED_ENGINE_HASH, createWasmEngine, loadWasm, takePanicMessage } from './wasm-engine.mjs';

const { values: flags, positionals } = parseArgs({
  strict: false,
  allowPositionals: true,
  options: {
    version: { type: 'boolean', short: 'V' },
    datamodels: { type: 'string', multiple: true },
    datasource: { type: 'string' },
  },
});

if (flags.version) {
  // The CLI shows this in `prisma --version`; it is the hash of the wasm actually loaded.
  console.log(`schema-engine-cli ${await loadWasm()}`);
  process.exit(0);
}

const datasource = JSON.parse(flags.datasource ?? '{}');

if (positionals[0] === 'cli') {
  process.exit(await runCliCommand(positionals[1], datasource));
}

const engineHash = await loadWasm();
if (engineHash !== VERIFIED_ENGINE_HASH) {
  // A mismatched glue/wasm pair fails in obscure ways, so refuse before touching a database.
  process.stderr.write(logLine('ERROR', `The wasm schema engine is ${engineHash}, but this stand-in was verified ` +
    `against ${VERIFIED_ENGINE_HASH} (see tools/prisma-engine/wasm-engine.mjs).`));
  process.exit(1);
}

// Commands without a schema (e.g. `migrate diff --from-empty`) pass no --datamodels; the
// engine panics on an empty list but accepts none.
const readDatamodel = async (file) => [file, await readFile(file, 'utf8')];
const datamodels = flags.datamodels && await Promise.all(flags.datamodels.map(readDatamodel));
const adapterFactory = createAdapterFactory({ url: datasource.url, shadowDatabaseUrl: datasource.shadowDatabaseUrl });
const boundFactory = bindMigrationAwareSqlAdapterFactory(adapterFactory);
const engine = await createWasmEngine({
  datamodels,
  // The engine's log lines already have the native format the CLI parses from stderr.
  onLog: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
  adapterFactory: boundFactory,
});

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

// Requests this process sent to the CLI (only `print`), waiting for their reply.
const pendingPrints = new Map();
let nextPrintId = 1;

/** Native engines print `migrate diff` output through the CLI; the wasm engine returns it instead. */
function printThroughCli(content) {
  const id = nextPrintId++;
  return new Promise((resolve) => {
    pendingPrints.set(id, resolve);
    send({ jsonrpc: '2.0', id, method: 'print', params: { content } });
  });
}

const COLD_CACHE_ERROR = 'shadow DB must be provided through an external factory';

async function callEngine(method, params) {
  switch (method) {
    case 'getDatabaseVersion':
      return engine.version(params);
    case 'createDatabase':
      return { databaseName: await createDatabase(params?.datasource?.url ?? datasource.url) };
    case 'debugPanic':
      return engine.debugPanic();
    case 'diff': {
      const result = await engine.diff(params);
      if (result.stdout) await printThroughCli(result.stdout);
      return { ...result, stdout: null };
    }
    case 'createMigration':
    case 'evaluateDataLoss':
      try {
        return await engine[method](params);
      } catch (error) {
        if (!String(error?.message).includes(COLD_CACHE_ERROR)) throw error;
        // The wasm build only finds its shadow database once devDiagnostic has warmed
        // the migration cache; it does the same work the retried call needs anyway.
        await engine.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters });
        return await engine[method](params);
      }
    default:
      if (typeof engine[method] !== 'function' || method === 'free' || method.startsWith('_')) {
        throw Object.assign(new Error(`Method not found: ${method}`), { rpcCode: -32601 });
      }
      return engine[method](params);
  }
}

/** Native error shape: the CLI reads `data.is_panic` and `data.message` (wasm errors carry no Prisma error code). */
function toRpcError(error) {
  if (error instanceof WebAssembly.RuntimeError) {
    const message = takePanicMessage() || String(error);
    return { code: 4466, message, data: { is_panic: true, message, backtrace: error.stack } };
  }
  if (error?.rpcCode) return { code: error.rpcCode, message: error.message };
  // JS errors thrown inside the adapter reach the engine as a bare "External error id#N";
  // put the original message back so the user sees e.g. "permission denied to create database".
  const message = String(error?.message ?? error).replace(/External error id#(\d+)/g, (text, id) => {
    const cause = boundFactory.errorRegistry.consumeError(Number(id))?.error;
    return cause ? `${text}: ${cause.message ?? cause}` : text;
  });
  return { code: 4466, message: 'An error happened. Check the data field for ' +
    'details.', data: { is_panic: false, message } };
}

let current = null;

async function handle(request) {
  current = request;
  try {
    send({ jsonrpc: '2.0', id: request.id, result: (await callEngine(request.method, request.params)) ?? null });
  } catch (error) {
    const rpcError = toRpcError(error);
    send({ jsonrpc: '2.0', id: request.id, error: rpcError });
    // A trapped wasm instance is unusable; the native engine also dies on a panic.
    if (rpcError.data?.is_panic) await shutDown(101);
  } finally {
    current = null;
  }
}

// Some panics surface from a wasm callback instead of the returned promise.
process.on('uncaughtException', (error) => {
  if (current) send({ jsonrpc: '2.0', id: current.id, error: toRpcError(error) });
  else {
    const fields = { is_panic: error instanceof WebAssembly.RuntimeError };
    process.stderr.write(logLine('ERROR', String(error?.stack ?? error), fields));
  }
  void shutDown(error instanceof WebAssembly.RuntimeError ? 101 : 1);
});

let queue = Promise.resolve();

async function shutDown(code) {
  await adapterFactory.dropLeftovers().catch(() => {});
  process.exit(code);
}

readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line);
    if (message.method === undefined) {
      pendingPrints.get(message.id)?.();
      pendingPrints.delete(message.id);
      return;
    }
    // The engine takes one request at a time; print replies must not wait behind them.
    queue = queue.then(() => handle(message));
  })
  .on('close', () => queue.then(() => shutDown(0)));

// The CLI stops the engine by closing stdin and killing it at once; a shadow database
// created by an interrupted request must not outlive us.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => shutDown(0));
