// Schema migrations, applied in order inside one transaction each. Never edit a released one:
// add the next. `schema_version` holds the number of the last applied migration.
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    // One row per dataset and per lease, so a change rewrites only what changed. Each row holds
    // the model object as JSON: the model is the schema; columns would only duplicate it.
    sql: `
      CREATE TABLE datasets (dataset_id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL) STRICT;
      CREATE TABLE leases (dataset_id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL) STRICT;
    `,
  },
  {
    version: 2,
    // The store's identity (made on first open) and generation (grows with every commit), so an
    // agent can tell this store from another and a newer configuration from an older one.
    sql: 'CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;',
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
