/**
 * The command channel between hub and broker: the contract ({@link Command}, {@link CommandClient},
 * {@link CommandHandler}) and three transports — in-process ({@link LocalCommandBus}), Redis lists
 * ({@link RedisCommandClient} / {@link RedisCommandServer}) and a Unix control socket
 * ({@link UnixCommandClient} / {@link UnixCommandServer}). Every client resolves with a
 * {@link CommandResult}; failures carry a `code` (`timeout`, `unreachable`, `rejected`, `failed`).
 *
 * @module
 */
export * from "./command.ts";
export { LocalCommandBus } from "./local_bus.ts";
export {
  commandKey,
  RedisCommandClient,
  type RedisCommandClientOptions,
  RedisCommandServer,
  type RedisCommandServerOptions,
  RedisSpokeRelay,
  resultKey,
} from "./redis_commands.ts";
export {
  UnixCommandClient,
  type UnixCommandClientOptions,
  UnixCommandServer,
  type UnixCommandServerOptions,
} from "./unix_socket.ts";
