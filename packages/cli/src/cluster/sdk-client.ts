// The ClusterClient over the SDK (@brook/client). Until the SDK exports its entry point this
// fails on first use with a message saying so, rather than pretending.

import * as sdk from "@brook/client";
import { ClusterUnreachableError, type ClusterClient } from "./cluster-client.js";

export class SdkUnavailableError extends Error {
  override readonly name = "SdkUnavailableError";
}

export function connectCluster(bootstrap: readonly string[], clientId: string): ClusterClient {
  if (bootstrap.length === 0) throw new ClusterUnreachableError([], ["no bootstrap address given"]);
  const Brook = (sdk as Record<string, unknown>)["Brook"];
  if (typeof Brook !== "function") {
    throw new SdkUnavailableError(`@brook/client does not export Brook yet, so this build of the CLI cannot talk to a cluster (tried to use ${bootstrap.join(", ")} as ${clientId})`);
  }
  throw new SdkUnavailableError("the SDK adapter of the CLI is not wired to @brook/client's API yet");
}
