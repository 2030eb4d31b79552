/**
 * node-redis, loaded on first use: a node without a Redis URL never loads it. Loading it costs
 * ~10 MB of anonymous memory per process (its source, compiled code and module objects; measured
 * in bench/README.md), a fifth of a Pi Zero spoke.
 *
 * @module
 */
import type * as Redis from "redis";

let loading: Promise<typeof Redis> | undefined;

/** The `redis` module, imported once (a failed import is tried again on the next call). */
export function loadRedis(): Promise<typeof Redis> {
  return loading ??= import("redis").catch((e) => {
    loading = undefined;
    throw e;
  });
}
