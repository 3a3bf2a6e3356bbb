// Types for services.mjs, so TypeScript tests can import the provisioning library.

export interface ServiceHandle {
  url: string;
  source: 'given' | 'docker' | 'local';
  adopted?: boolean;
  stop: () => Promise<void>;
}

export interface DockerStrategy {
  available: () => Promise<boolean>;
  start: () => Promise<{ url: string; stop: () => Promise<void> }>;
}

export interface LocalOptions {
  dir: string;
  port: number;
  persistent?: boolean;
}

export interface EnsureOptions {
  url?: string;
  docker?: DockerStrategy;
  local: LocalOptions;
  log?: (message: string) => void;
  label?: string;
}

export interface LocalServer {
  url: string;
  port: number;
  dir: string;
  adopted: boolean;
}

export function ensurePostgres(opts: EnsureOptions): Promise<ServiceHandle>;
export function ensureRedis(opts: EnsureOptions): Promise<ServiceHandle>;
export function stopAll(handles: ServiceHandle[], log?: (message: string) => void): Promise<void>;
export function redact(url: string): string;

export function isReachable(host: string, port: number, timeoutMs?: number): Promise<boolean>;
export function isPortFree(port: number, host?: string): Promise<boolean>;
export function findFreePort(preferred?: number, host?: string): Promise<number>;
export function isUrlReachable(url: string, timeoutMs?: number): Promise<boolean>;
export function redisPing(opts: {
  host?: string;
  port: number;
  password?: string;
  username?: string;
  timeoutMs?: number;
}): Promise<boolean>;
export function parseServiceUrl(url: string): {
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
};

export function findPostgresBinDir(): string;
export function startLocalPostgres(opts: {
  dir: string;
  port: number;
  persistent?: boolean;
  binDir?: string;
  log?: (m: string) => void;
}): Promise<LocalServer>;
export function stopLocalPostgres(opts: { dir: string; binDir?: string; log?: (m: string) => void }): Promise<void>;

export function ensureRedisServerInstalled(opts?: { log?: (m: string) => void }): Promise<string>;
export function startLocalRedis(opts: {
  dir: string;
  port: number;
  persistent?: boolean;
  log?: (m: string) => void;
}): Promise<LocalServer>;
export function stopLocalRedis(opts: { dir: string; log?: (m: string) => void }): Promise<void>;

export function hasDockerEngine(opts?: { timeoutMs?: number }): Promise<boolean>;
