// Everything the broker asks of the controller quorum, as one interface. The gRPC
// implementation (controller_link.ts) finds the active controller, follows NOT_CONTROLLER
// hints and retries with backoff; tests of the lifecycle logic can drive it directly.
import type { AlterPartitionFn } from "../replica/replica_manager.js";
import type { MetadataView } from "../metadata/view.js";
import type { ControllerApi } from "../service/controller_api.js";

export interface BrokerRegistration {
  readonly nodeId: number;
  readonly incarnationId: string; // fresh UUID per process start
  /** The inter-broker listener's advertised address (registered alone when `endpoints` is absent). */
  readonly host: string;
  readonly port: number;
  /** Every advertised listener (Kafka's advertised.listeners), the inter-broker one included. */
  readonly endpoints?: readonly { readonly name: string; readonly host: string; readonly port: number }[];
  readonly rack: string;
}

export interface HeartbeatRequest {
  readonly nodeId: number;
  readonly brokerEpoch: number;
  readonly currentMetadataOffset: number;
  readonly wantFence: boolean;
  readonly wantShutDown: boolean;
  /** Failed log directories (KIP-858); non-empty keeps this broker fenced. */
  readonly offlineLogDirs: readonly string[];
}

export interface HeartbeatResult {
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  readonly shouldShutDown: boolean;
}

export interface MetadataSubscription {
  close(): void;
}

export interface ControllerChannel extends ControllerApi {
  register(req: BrokerRegistration): Promise<{ brokerEpoch: number }>;
  heartbeat(req: HeartbeatRequest): Promise<HeartbeatResult>;
  readonly alterPartition: AlterPartitionFn;
  /** Streams committed metadata as successive views; reconnects on its own. */
  followMetadata(onView: (view: MetadataView) => void): MetadataSubscription;
  activeControllerId(): number;
  close(): void;
}
