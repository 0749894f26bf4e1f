// The role implementations this build of the server wires in. Each entry adapts one
// package's public API (packages/controller, packages/broker) to the NodeRole seam.

import { brokerRole } from "./broker-role.js";
import { controllerRole } from "./controller-role.js";
import type { RoleFactory } from "./role.js";

export const DEFAULT_ROLE_FACTORIES: { readonly controller: RoleFactory; readonly broker: RoleFactory } = {
  controller: controllerRole,
  broker: brokerRole,
};
