//! Probes and lifecycle hooks, and the actions (exec, HTTP, TCP, gRPC,
//! sleep) they run.

use super::*;

pub static PROBE: Message = message(
    "Probe",
    &[
        inline(1, msg(&PROBE_HANDLER)),
        field(2, "initialDelaySeconds", INT32),
        field(3, "timeoutSeconds", INT32),
        field(4, "periodSeconds", INT32),
        field(5, "successThreshold", INT32),
        field(6, "failureThreshold", INT32),
        keep(7, "terminationGracePeriodSeconds", INT64),
    ],
);

pub static PROBE_HANDLER: Message = message(
    "ProbeHandler",
    &[
        field(1, "exec", msg(&EXEC_ACTION)),
        field(2, "httpGet", msg(&HTTP_GET_ACTION)),
        field(3, "tcpSocket", msg(&TCP_SOCKET_ACTION)),
        field(4, "grpc", msg(&GRPC_ACTION)),
    ],
);

pub static EXEC_ACTION: Message = message("ExecAction", &[list(1, "command", STRING)]);

pub static HTTP_GET_ACTION: Message = message(
    "HTTPGetAction",
    &[
        field(1, "path", STRING),
        field(2, "port", INT_OR_STRING),
        field(3, "host", STRING),
        field(4, "scheme", STRING),
        list(5, "httpHeaders", msg(&HTTP_HEADER)),
    ],
);

pub static HTTP_HEADER: Message = message(
    "HTTPHeader",
    &[field(1, "name", STRING), field(2, "value", STRING)],
);

pub static TCP_SOCKET_ACTION: Message = message(
    "TCPSocketAction",
    &[field(1, "port", INT_OR_STRING), field(2, "host", STRING)],
);

pub static GRPC_ACTION: Message = message(
    "GRPCAction",
    &[keep(1, "port", INT32), keep(2, "service", STRING)],
);

pub static LIFECYCLE: Message = message(
    "Lifecycle",
    &[
        field(1, "postStart", msg(&LIFECYCLE_HANDLER)),
        field(2, "preStop", msg(&LIFECYCLE_HANDLER)),
        keep(3, "stopSignal", STRING),
    ],
);

pub static LIFECYCLE_HANDLER: Message = message(
    "LifecycleHandler",
    &[
        field(1, "exec", msg(&EXEC_ACTION)),
        field(2, "httpGet", msg(&HTTP_GET_ACTION)),
        field(3, "tcpSocket", msg(&TCP_SOCKET_ACTION)),
        field(4, "sleep", msg(&SLEEP_ACTION)),
    ],
);

pub static SLEEP_ACTION: Message = message("SleepAction", &[keep(1, "seconds", INT64)]);
