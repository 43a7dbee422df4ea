// Bootstrap of a gradient worker thread run from the TypeScript sources (CLI, tests, job
// processes under tsx): registers tsx's loader in this thread, then imports the worker module.
// (Node 20 does not apply `--import tsx` given in a Worker's execArgv to the worker's own entry.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
