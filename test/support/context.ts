/**
 * What test/global-setup.ts hands to every test file through vitest's provide/inject: the
 * addresses and credentials of the servers it started for this run.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    /** The cached server binaries, for fault tests that run (and stop) servers of their own. */
    temporalBinary: string;
    minioBinary: string;
    /** Validators of docker-compose.yml (tools/compose-config) and deploy/ (kubectl-validate). */
    composeConfigBinary: string;
    kubectlValidateBinary: string;
    /** host:port of the Temporal dev server (headless, fresh SQLite file). */
    temporalAddress: string;
    temporalNamespace: string;
    /** http://127.0.0.1:<port> of MinIO. */
    s3Endpoint: string;
    s3AccessKeyId: string;
    s3SecretAccessKey: string;
    /** The test database on the local Postgres; each test file migrates its own schema in it. */
    databaseUrl: string;
    /** MinIO's webhook target is http://127.0.0.1:<webhookPort>/api/v1/events/s3: the e2e test's api listens here. */
    webhookPort: number;
    webhookToken: string;
    /** Created, with ObjectCreated notifications to the webhook. */
    ingestBucket: string;
    /** Created, no notifications. */
    workBucket: string;
  }
}

export {};
