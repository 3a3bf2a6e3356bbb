// Types for secret-scan.mjs, so the TypeScript test helpers and tests can use the same scanner.

export interface Secret {
  kind: string;
  value: string;
}
export interface Finding {
  line: number;
  reason: string;
  /** The line with every secret masked. */
  excerpt: string;
}

export declare const SECRETS_FILE: string;
export declare const MIN_SECRET_LENGTH: number;
export declare const PATTERNS: { name: string; re: RegExp }[];
export declare function loadSecrets(dir: string): Secret[];
export declare function scanText(text: string, secrets: Secret[]): Finding[];
export declare function scanLogDir(dir: string): (Finding & { file: string })[];
export declare function formatFindings(found: (Finding & { file: string })[]): string;
