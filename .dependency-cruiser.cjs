// The layering of the code base, checked by `npm run lint:deps` (scripts/check-deps.mjs) before the tests.
// Services sit on packages; packages never reach up into services; services never reach into each other; the
// packages themselves form layers. One rule the imports cannot state (only the worker constructs a BullMQ Worker)
// is checked by scripts/check-deps.mjs itself.
// Type-only imports are left out (`tsPreCompilationDeps: false`): they vanish at runtime, so they make no cycle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A module must not import itself through others: import order would then decide what is undefined.',
      from: { path: '^(packages|services)/' },
      to: { circular: true },
    },
    {
      name: 'services-stay-apart',
      severity: 'error',
      comment:
        'Services never import each other: the API produces jobs, the worker consumes them, through packages/jobs.',
      from: { path: '^services/([^/]+)/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'packages-never-import-services',
      severity: 'error',
      comment: 'Packages hold the logic and the services depend on them, never the other way round.',
      from: { path: '^packages/' },
      to: { path: '^services/' },
    },
    // The workspaces in layers, bottom up: config, logger, storage, jobs → db → core → cli, testing → services.
    // A workspace imports only from the layers below it, so no two workspaces can import each other.
    {
      name: 'base-packages-stand-alone',
      severity: 'error',
      comment: 'config, logger, storage and jobs are the bottom layer: they import no other workspace.',
      from: { path: '^packages/(config|logger|storage|jobs)/' },
      to: { path: '^packages/', pathNot: '^packages/$1/' },
    },
    {
      name: 'db-on-config-only',
      severity: 'error',
      comment: 'packages/db (Prisma client, seeder) builds on packages/config alone.',
      from: { path: '^packages/db/' },
      to: { path: '^packages/', pathNot: '^packages/(db|config)/' },
    },
    {
      name: 'core-below-its-users',
      severity: 'error',
      comment: 'packages/core is used by the CLI, the test helpers and the services; it imports none of them.',
      from: { path: '^packages/core/' },
      to: { path: '^packages/(cli|testing)/' },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment: 'packages/cli (mp-backup) is an end product, like the services.',
      from: { path: '^(packages|services)/', pathNot: '^packages/cli/' },
      to: { path: '^packages/cli/' },
    },
    {
      name: 'testing-only-in-tests',
      severity: 'error',
      comment:
        'packages/testing (database copies, process harness, Cloudinary emulator) is for tests, never shipped code.',
      from: { path: '^(packages|services)/', pathNot: ['^packages/testing/', '[.]test[.]ts$'] },
      to: { path: '^packages/testing/' },
    },
    {
      name: 'fastify-only-in-the-api',
      severity: 'error',
      comment: 'Core never speaks HTTP: only services/api may use fastify, @fastify/* or fastify-*.',
      from: { path: '^(packages|services)/', pathNot: '^services/api/' },
      to: { path: '(^|/)node_modules/(fastify|@fastify/[^/]+|fastify-[^/]+)/' },
    },
  ],
  options: {
    exclude: { path: '(^|/)(generated|dist|coverage)/' },
    // npm packages are leaves (their names are enough for the fastify rule); workspaces (@mp/*) are followed.
    doNotFollow: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: false,
    // NodeNext resolution: `./x.js` in TypeScript source names `./x.ts`.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs'],
    },
  },
};
