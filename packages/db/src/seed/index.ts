export { seedDemoData, isDomainEmpty, SeedError, type SeedErrorCode, type SeedOptions } from './seed-demo-data.js';
export { countsForScale, DOMAIN_TABLES, type DomainTable, type SeedCounts } from './counts.js';
