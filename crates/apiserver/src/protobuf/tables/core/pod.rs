//! Pod, its spec and status, and the pod template that Deployments,
//! ReplicaSets and ReplicationControllers carry; Binding.

use super::*;

pub static POD: Message = message(
    "Pod",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&POD_SPEC)),
        field(3, "status", msg(&POD_STATUS)),
    ],
);

pub static POD_SPEC: Message = message(
    "PodSpec",
    &[
        list(1, "volumes", msg(&VOLUME)),
        list(2, "containers", msg(&CONTAINER)),
        field(3, "restartPolicy", STRING),
        keep(4, "terminationGracePeriodSeconds", INT64),
        keep(5, "activeDeadlineSeconds", INT64),
        field(6, "dnsPolicy", STRING),
        map(7, "nodeSelector", STRING),
        field(8, "serviceAccountName", STRING),
        field(9, "serviceAccount", STRING),
        field(10, "nodeName", STRING),
        field(11, "hostNetwork", BOOL),
        field(12, "hostPID", BOOL),
        field(13, "hostIPC", BOOL),
        field(14, "securityContext", msg(&POD_SECURITY_CONTEXT)),
        list(15, "imagePullSecrets", msg(&LOCAL_OBJECT_REFERENCE)),
        field(16, "hostname", STRING),
        field(17, "subdomain", STRING),
        field(18, "affinity", msg(&AFFINITY)),
        field(19, "schedulerName", STRING),
        list(20, "initContainers", msg(&CONTAINER)),
        keep(21, "automountServiceAccountToken", BOOL),
        list(22, "tolerations", msg(&TOLERATION)),
        list(23, "hostAliases", msg(&HOST_ALIAS)),
        field(24, "priorityClassName", STRING),
        keep(25, "priority", INT32),
        field(26, "dnsConfig", msg(&POD_DNS_CONFIG)),
        keep(27, "shareProcessNamespace", BOOL),
        list(28, "readinessGates", msg(&POD_READINESS_GATE)),
        keep(29, "runtimeClassName", STRING),
        keep(30, "enableServiceLinks", BOOL),
        keep(31, "preemptionPolicy", STRING),
        map(32, "overhead", QUANTITY),
        list(
            33,
            "topologySpreadConstraints",
            msg(&TOPOLOGY_SPREAD_CONSTRAINT),
        ),
        list(34, "ephemeralContainers", msg(&EPHEMERAL_CONTAINER)),
        keep(35, "setHostnameAsFQDN", BOOL),
        field(36, "os", msg(&POD_OS)),
        keep(37, "hostUsers", BOOL),
        list(38, "schedulingGates", msg(&POD_SCHEDULING_GATE)),
        list(39, "resourceClaims", msg(&POD_RESOURCE_CLAIM)),
        field(40, "resources", msg(&RESOURCE_REQUIREMENTS)),
        keep(41, "hostnameOverride", STRING),
    ],
);

pub static HOST_ALIAS: Message = message(
    "HostAlias",
    &[field(1, "ip", STRING), list(2, "hostnames", STRING)],
);

pub static POD_DNS_CONFIG: Message = message(
    "PodDNSConfig",
    &[
        list(1, "nameservers", STRING),
        list(2, "searches", STRING),
        list(3, "options", msg(&POD_DNS_CONFIG_OPTION)),
    ],
);

pub static POD_DNS_CONFIG_OPTION: Message = message(
    "PodDNSConfigOption",
    &[field(1, "name", STRING), keep(2, "value", STRING)],
);

pub static POD_READINESS_GATE: Message =
    message("PodReadinessGate", &[field(1, "conditionType", STRING)]);

pub static POD_OS: Message = message("PodOS", &[field(1, "name", STRING)]);

pub static POD_SCHEDULING_GATE: Message = message("PodSchedulingGate", &[field(1, "name", STRING)]);

pub static POD_RESOURCE_CLAIM: Message = message(
    "PodResourceClaim",
    &[
        field(1, "name", STRING),
        keep(3, "resourceClaimName", STRING),
        keep(4, "resourceClaimTemplateName", STRING),
    ],
);

pub static POD_STATUS: Message = message(
    "PodStatus",
    &[
        field(1, "phase", STRING),
        list(2, "conditions", msg(&POD_CONDITION)),
        field(3, "message", STRING),
        field(4, "reason", STRING),
        field(5, "hostIP", STRING),
        field(6, "podIP", STRING),
        field(7, "startTime", TIME),
        list(8, "containerStatuses", msg(&CONTAINER_STATUS)),
        field(9, "qosClass", STRING),
        list(10, "initContainerStatuses", msg(&CONTAINER_STATUS)),
        field(11, "nominatedNodeName", STRING),
        list(12, "podIPs", msg(&POD_IP)),
        list(13, "ephemeralContainerStatuses", msg(&CONTAINER_STATUS)),
        field(14, "resize", STRING),
        list(15, "resourceClaimStatuses", msg(&POD_RESOURCE_CLAIM_STATUS)),
        list(16, "hostIPs", msg(&HOST_IP)),
        field(17, "observedGeneration", INT64),
        field(
            18,
            "extendedResourceClaimStatus",
            msg(&POD_EXTENDED_RESOURCE_CLAIM_STATUS),
        ),
        map(19, "allocatedResources", QUANTITY),
        field(20, "resources", msg(&RESOURCE_REQUIREMENTS)),
    ],
);

pub static POD_CONDITION: Message = message(
    "PodCondition",
    &[
        field(1, "type", STRING),
        field(2, "status", STRING),
        field(3, "lastProbeTime", TIME),
        field(4, "lastTransitionTime", TIME),
        field(5, "reason", STRING),
        field(6, "message", STRING),
        field(7, "observedGeneration", INT64),
    ],
);

pub static HOST_IP: Message = message("HostIP", &[field(1, "ip", STRING)]);

pub static POD_IP: Message = message("PodIP", &[field(1, "ip", STRING)]);

pub static POD_RESOURCE_CLAIM_STATUS: Message = message(
    "PodResourceClaimStatus",
    &[
        field(1, "name", STRING),
        keep(2, "resourceClaimName", STRING),
    ],
);

pub static POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = message(
    "PodExtendedResourceClaimStatus",
    &[
        list(
            1,
            "requestMappings",
            msg(&CONTAINER_EXTENDED_RESOURCE_REQUEST),
        ),
        field(2, "resourceClaimName", STRING),
    ],
);

pub static CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = message(
    "ContainerExtendedResourceRequest",
    &[
        field(1, "containerName", STRING),
        field(2, "resourceName", STRING),
        field(3, "requestName", STRING),
    ],
);

pub static POD_TEMPLATE_SPEC: Message = message(
    "PodTemplateSpec",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&POD_SPEC)),
    ],
);

pub static BINDING: Message = message(
    "Binding",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "target", msg(&OBJECT_REFERENCE)),
    ],
);
