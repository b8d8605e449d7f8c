export { startLocalPlatform, type LocalPlatform, type LocalPlatformOptions } from "./platform";
export { serve, toWebRequest, writeWebResponse, type FetchHandler, type HttpServerHandle } from "./node-http";
export { SqliteStore } from "./sqlite-store";
export { StateDirLock, StateDirLockedError, type StateLockHolder } from "./state-lock";
export { LocalJobRunner, type LocalJobRunnerOptions } from "./local-job-runner";
export { SqliteJobQueue, type SqliteJobQueueOptions } from "./sqlite-job-queue";
