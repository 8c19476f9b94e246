//! Service (spec, ports, load balancer status) and the legacy core/v1
//! Endpoints.

use super::*;

pub static SERVICE: Message = message(
    "Service",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&SERVICE_SPEC)),
        field(3, "status", msg(&SERVICE_STATUS)),
    ],
);

pub static SERVICE_SPEC: Message = message(
    "ServiceSpec",
    &[
        list(1, "ports", msg(&SERVICE_PORT)),
        map(2, "selector", STRING),
        field(3, "clusterIP", STRING),
        field(4, "type", STRING),
        list(5, "externalIPs", STRING),
        field(7, "sessionAffinity", STRING),
        field(8, "loadBalancerIP", STRING),
        list(9, "loadBalancerSourceRanges", STRING),
        field(10, "externalName", STRING),
        field(11, "externalTrafficPolicy", STRING),
        field(12, "healthCheckNodePort", INT32),
        field(13, "publishNotReadyAddresses", BOOL),
        field(14, "sessionAffinityConfig", msg(&SESSION_AFFINITY_CONFIG)),
        keep(17, "ipFamilyPolicy", STRING),
        list(18, "clusterIPs", STRING),
        list(19, "ipFamilies", STRING),
        keep(20, "allocateLoadBalancerNodePorts", BOOL),
        keep(21, "loadBalancerClass", STRING),
        keep(22, "internalTrafficPolicy", STRING),
        keep(23, "trafficDistribution", STRING),
    ],
);

pub static SERVICE_PORT: Message = message(
    "ServicePort",
    &[
        field(1, "name", STRING),
        field(2, "protocol", STRING),
        keep(3, "port", INT32),
        field(4, "targetPort", INT_OR_STRING),
        field(5, "nodePort", INT32),
        keep(6, "appProtocol", STRING),
    ],
);

pub static SESSION_AFFINITY_CONFIG: Message = message(
    "SessionAffinityConfig",
    &[field(1, "clientIP", msg(&CLIENT_IP_CONFIG))],
);

pub static CLIENT_IP_CONFIG: Message =
    message("ClientIPConfig", &[keep(1, "timeoutSeconds", INT32)]);

pub static SERVICE_STATUS: Message = message(
    "ServiceStatus",
    &[
        field(1, "loadBalancer", msg(&LOAD_BALANCER_STATUS)),
        list(2, "conditions", msg(&meta::CONDITION)),
    ],
);

pub static LOAD_BALANCER_STATUS: Message = message(
    "LoadBalancerStatus",
    &[list(1, "ingress", msg(&LOAD_BALANCER_INGRESS))],
);

pub static LOAD_BALANCER_INGRESS: Message = message(
    "LoadBalancerIngress",
    &[
        field(1, "ip", STRING),
        field(2, "hostname", STRING),
        keep(3, "ipMode", STRING),
        list(4, "ports", msg(&PORT_STATUS)),
    ],
);

pub static PORT_STATUS: Message = message(
    "PortStatus",
    &[
        keep(1, "port", INT32),
        field(2, "protocol", STRING),
        keep(3, "error", STRING),
    ],
);

pub static ENDPOINTS: Message = message(
    "Endpoints",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        list(2, "subsets", msg(&ENDPOINT_SUBSET)),
    ],
);

pub static ENDPOINT_SUBSET: Message = message(
    "EndpointSubset",
    &[
        list(1, "addresses", msg(&ENDPOINT_ADDRESS)),
        list(2, "notReadyAddresses", msg(&ENDPOINT_ADDRESS)),
        list(3, "ports", msg(&ENDPOINT_PORT)),
    ],
);

pub static ENDPOINT_ADDRESS: Message = message(
    "EndpointAddress",
    &[
        field(1, "ip", STRING),
        field(2, "targetRef", msg(&OBJECT_REFERENCE)),
        field(3, "hostname", STRING),
        keep(4, "nodeName", STRING),
    ],
);

pub static ENDPOINT_PORT: Message = message(
    "EndpointPort",
    &[
        field(1, "name", STRING),
        keep(2, "port", INT32),
        field(3, "protocol", STRING),
        keep(4, "appProtocol", STRING),
    ],
);
