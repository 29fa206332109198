// DescribeCluster (key 60), versions 0-1 (flexible from 0). Cluster id, the live brokers and the
// controller id from the published metadata image (see ../cluster-view.ts). endpointType (v1): only
// BROKERS (1) is served on the broker listener; CONTROLLERS (2) gets MISMATCHED_ENDPOINT_TYPE, as a
// Kafka broker answers. Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED). Authorized
// operations of the cluster when asked (kafka/security.ts), otherwise Kafka's "not asked" value (Int32 min).

import { DescribeClusterApi } from "../../protocol/generated/describe-cluster.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { brokersOf, controllerIdOf } from "../cluster-view.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation, clusterResourceName, ResourceType } from "../../security/acl.ts";
import { authorizeCluster, authorizedOperations } from "../security.ts";

const ENDPOINT_BROKERS = 1;
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export default defineHandler({
  api: DescribeClusterApi,
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const broker = ctx.broker;
    const endpointType = ctx.version >= 1 ? request.endpointType : ENDPOINT_BROKERS;
    if (endpointType !== ENDPOINT_BROKERS) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        errorMessage: "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
        endpointType,
        clusterId: broker.clusterId,
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    }
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
      return {
        throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed.", endpointType,
        clusterId: broker.clusterId, controllerId: -1, brokers: [], clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    }
    const brokers = brokersOf(broker);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType,
      clusterId: broker.clusterId,
      controllerId: controllerIdOf(broker, brokers),
      brokers: brokers.map((visible) => ({ brokerId: visible.nodeId, host: visible.host, port: visible.port, rack: visible.rack })),
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
        ? authorizedOperations(ctx, ResourceType.CLUSTER, clusterResourceName)
        : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});
