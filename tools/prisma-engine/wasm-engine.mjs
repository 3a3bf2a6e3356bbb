// Loads the schema engine that ships inside the prisma package as WebAssembly.
// The CLI never loads it itself (it only knows the native binary).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';

/**
 * The engine commit this stand-in was verified against. The glue comes from a different
 * npm version of @prisma/schema-engine-wasm (the matching one is not published); it was
 * checked to be byte-identical for this commit. After a Prisma upgrade, re-check the glue
 * against the new wasm before bumping this.
 */
export const VERIFIED_ENGINE_HASH = 'd1b3f377ca835d73fd50954a5e22128b9ebdd6b8';

// The glue reports Rust panics here; the CLI installs the same object in its own process.
globalThis.PRISMA_WASM_PANIC_REGISTRY ??= {
  message: '',
  set_message(message) { this.message = `RuntimeError: ${message}`; },
  get() { return this.message; },
};

let loaded = false;

/** Instantiates the wasm from the installed prisma CLI (once) and returns its commit hash. */
export async function loadWasm() {
  if (!loaded) {
    const prismaDir = path.dirname(createRequire(import.meta.url).resolve('prisma/package.json'));
    const module = await WebAssembly.compile(await readFile(path.join(prismaDir, 'build/schema_engine_bg.wasm')));
    const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    loaded = true;
  }
  return glue.version();
}

/** The last panic message the wasm reported, if any. */
export const takePanicMessage = () => globalThis.PRISMA_WASM_PANIC_REGISTRY.get();

/**
 * Creates a wasm SchemaEngine. `datamodels` is [[path, text]…]; `adapterFactory` must already be
 * bound with bindMigrationAwareSqlAdapterFactory. The engine handles one request at a time.
 */
export async function createWasmEngine({ datamodels, onLog, adapterFactory }) {
  await loadWasm();
  return glue.SchemaEngine.new({ datamodels }, onLog, adapterFactory);
}
