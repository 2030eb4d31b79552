/**
 * Spoke mode: {@link SpokePusher} pushes this node's snapshots to the hub with store-and-forward,
 * and runs commands the hub forwards in its push responses.
 *
 * @module
 */
export {
  commandRunner,
  type PusherClock,
  SpokePusher,
  type SpokePusherOptions,
  type SpokePusherStats,
} from "./spoke_pusher.ts";
