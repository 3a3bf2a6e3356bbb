// Types for build.mjs, so the TypeScript launchers (bench, end-to-end tests) can build and start the services.

export type ServiceName = 'api' | 'worker';

/** The services that get built: dist/<name>.mjs comes from services/<name>/src/main.ts. */
export declare const SERVICES: ServiceName[];

/** The bundle of a service (an absolute path). */
export declare function serviceBundle(name: ServiceName, root?: string): string;

/** Node's arguments that run a built service (`--enable-source-maps <bundle>`). */
export declare function serviceArgs(name: ServiceName, root?: string): string[];

/** Bundles every service into `<root>/dist` (atomic renames); resolves to the bundles' paths. */
export declare function buildServices(opts?: { root?: string; services?: ServiceName[] }): Promise<string[]>;
/** The admin console's build folder (dist/console under `root`). */
export declare function consoleOutDir(root?: string): string;
/** True when the console was never built, or a source (or the lock file) is newer than its build. */
export declare function consoleIsStale(root?: string): boolean;
/** Builds the admin console with Vite into dist/console; with `onlyIfStale`, only when {@link consoleIsStale}. */
export declare function buildConsole(opts?: {
  root?: string;
  onlyIfStale?: boolean;
}): Promise<{ outDir: string; built: boolean }>;
