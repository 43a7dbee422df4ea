/** Data-parallel gradient workers for the wasm/cpu backends (one tfjs replica per thread). */
export { DataParallel, resolveWorkerCount, type DataParallelOptions, type ParallelGrads } from './data-parallel';
export { GradientPool, gradWorkerEntry, type PoolOptions, type PoolStepResult } from './pool';
export { mixSeed, shardDropoutSeed, shardLoss, shardRanges, splitBatch, type BatchArrays, type Shard } from './shards';
export { shardLossAndGrads, type ShardGrads } from './compute';
export { physicalCores } from './cores';
