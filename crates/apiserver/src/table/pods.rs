//! `kubectl get pods`: NAME READY STATUS RESTARTS AGE, and with `-o wide`
//! IP NODE NOMINATED NODE READINESS GATES (upstream `printPod`).
//!
//! STATUS is not `status.phase`: it is the most telling thing about the pod
//! right now, worked out from its containers, in this order of precedence:
//! - an init container that failed or waits (`Init:CrashLoopBackOff`,
//!   `Init:ExitCode:1`) or the init progress (`Init:0/2`);
//! - else the last container that is waiting or terminated says why
//!   (`ContainerCreating`, `CrashLoopBackOff`, `Completed`, `Error`,
//!   `ExitCode:3`);
//! - `Terminating` once the pod is being deleted (`Unknown` if its node was lost);
//! - otherwise the phase (`Pending`, `Running`) or `status.reason` (`Evicted`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::format::{age, at, int, list, name, since, text, time};
use super::{AGE, Column, NAME, Printer, Row};

pub const PODS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Ready",
            "string",
            0,
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        Column::new(
            "Status",
            "string",
            0,
            "The aggregate status of the containers in this pod.",
        ),
        Column::new(
            "Restarts",
            "string",
            0,
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        AGE,
        Column::new(
            "IP",
            "string",
            1,
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
        ),
        Column::new(
            "Node",
            "string",
            1,
            "NodeName indicates in which node this pod is scheduled.",
        ),
        Column::new(
            "Nominated Node",
            "string",
            1,
            "nominatedNodeName is set only when this pod preempts other pods on the node.",
        ),
        Column::new(
            "Readiness Gates",
            "string",
            1,
            "If specified, all readiness gates will be evaluated for pod readiness.",
        ),
    ],
    row: pod_row,
};

fn condition_true(pod: &Value, type_: &str) -> bool {
    list(pod, &["status", "conditions"])
        .iter()
        .any(|c| text(c, &["type"]) == type_ && text(c, &["status"]) == "True")
}

/// An init container that keeps running beside the app (a "sidecar").
fn restartable(init_container: Option<&Value>) -> bool {
    init_container.is_some_and(|c| text(c, &["restartPolicy"]) == "Always")
}

/// `lastState.terminated.finishedAt` of a container status.
fn last_terminated(status: &Value) -> Option<DateTime<Utc>> {
    time(status, &["lastState", "terminated", "finishedAt"])
}

/// A terminated state's reason, or `Signal:N` / `ExitCode:N` without one.
fn terminated_reason(term: &Value, prefix: &str) -> String {
    let reason = text(term, &["reason"]);
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    let signal = int(term, &["signal"]);
    if signal != 0 {
        format!("{prefix}Signal:{signal}")
    } else {
        format!("{prefix}ExitCode:{}", int(term, &["exitCode"]))
    }
}

/// The cells of one pod (wide cells included).
pub fn pod_row(pod: &Value, now: DateTime<Utc>) -> Row {
    let init_specs = list(pod, &["spec", "initContainers"]);
    let init_spec = |name: &str| init_specs.iter().find(|c| text(c, &["name"]) == name);
    let total = list(pod, &["spec", "containers"]).len()
        + init_specs.iter().filter(|c| restartable(Some(c))).count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_sidecar_restart: Option<DateTime<Utc>> = None;

    let phase = text(pod, &["status", "phase"]);
    let mut reason = match text(pod, &["status", "reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if list(pod, &["status", "conditions"])
        .iter()
        .any(|c| text(c, &["type"]) == "PodScheduled" && text(c, &["reason"]) == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }

    let mut initializing = false;
    for (i, st) in list(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int(st, &["restartCount"]);
        let finished = last_terminated(st);
        last_restart = last_restart.max(finished);
        let sidecar = restartable(init_spec(text(st, &["name"])));
        if sidecar {
            sidecar_restarts += int(st, &["restartCount"]);
            last_sidecar_restart = last_sidecar_restart.max(finished);
        }
        let terminated = at(st, &["state", "terminated"]);
        let waiting_reason = text(st, &["state", "waiting", "reason"]);
        match terminated {
            Some(t) if int(t, &["exitCode"]) == 0 => continue,
            _ if sidecar && at(st, &["started"]) == Some(&Value::Bool(true)) => {
                if at(st, &["ready"]) == Some(&Value::Bool(true)) {
                    ready += 1;
                }
                continue;
            }
            Some(t) => reason = terminated_reason(t, "Init:"),
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                reason = format!("Init:{waiting_reason}");
            }
            None => reason = format!("Init:{i}/{}", init_specs.len()),
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // Walk backwards so the first container's state has the last word.
        for st in list(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int(st, &["restartCount"]);
            last_restart = last_restart.max(last_terminated(st));
            let waiting = text(st, &["state", "waiting", "reason"]);
            let terminated = at(st, &["state", "terminated"]);
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t, "");
            } else if at(st, &["ready"]) == Some(&Value::Bool(true))
                && at(st, &["state", "running"]).is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        // A finished container beside a running one does not make the pod "Completed".
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    let deleting = at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null());
    if deleting && text(pod, &["status", "reason"]) == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let ip = list(pod, &["status", "podIPs"])
        .first()
        .map(|p| text(p, &["ip"]))
        .filter(|ip| !ip.is_empty())
        // Objects written without podIPs still show their podIP.
        .unwrap_or_else(|| text(pod, &["status", "podIP"]));
    let gates = list(pod, &["spec", "readinessGates"]);
    let gates_cell = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = list(pod, &["status", "conditions"]);
        let true_count = gates
            .iter()
            .filter(|g| {
                let type_ = text(g, &["conditionType"]);
                conditions
                    .iter()
                    .find(|c| text(c, &["type"]) == type_)
                    .is_some_and(|c| text(c, &["status"]) == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };

    let conditions = match phase {
        "Succeeded" => Some(json!([{
            "type": "Completed", "status": "True", "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }])),
        "Failed" => Some(json!([{
            "type": "Completed", "status": "True", "reason": "Failed",
            "message": "The pod failed.",
        }])),
        _ => None,
    };

    Row {
        cells: vec![
            name(pod).into(),
            format!("{ready}/{total}").into(),
            reason.into(),
            restarts_cell.into(),
            age(pod, now),
            or_none(ip).into(),
            or_none(text(pod, &["spec", "nodeName"])).into(),
            or_none(text(pod, &["status", "nominatedNodeName"])).into(),
            gates_cell.into(),
        ],
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn pod(status: Value) -> Value {
        json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"containers": [{"name": "app"}, {"name": "log"}]},
            "status": status,
        })
    }

    fn cells(p: &Value) -> Vec<String> {
        pod_row(p, now())
            .cells
            .iter()
            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
            .collect()
    }

    fn running(ready: bool) -> Value {
        json!({"name": "c", "ready": ready, "restartCount": 0, "state": {"running": {"startedAt": "2024-05-01T11:00:00Z"}}})
    }

    #[test]
    fn a_new_pod_is_pending_with_nothing_ready() {
        let c = cells(&pod(json!({"phase": "Pending"})));
        assert_eq!(
            c,
            [
                "web", "0/2", "Pending", "0", "60m", "<none>", "<none>", "<none>", "<none>"
            ]
        );
    }

    #[test]
    fn running_pod_counts_ready_containers_and_shows_ip_and_node() {
        let mut p = pod(json!({
            "phase": "Running",
            "podIPs": [{"ip": "10.1.0.5"}],
            "containerStatuses": [running(true), running(false)],
        }));
        p["spec"]["nodeName"] = json!("node-1");
        let c = cells(&p);
        assert_eq!(&c[..4], ["web", "1/2", "Running", "0"]);
        assert_eq!(&c[5..7], ["10.1.0.5", "node-1"]);
    }

    #[test]
    fn waiting_and_terminated_containers_explain_the_status() {
        let p = pod(json!({"phase": "Pending", "containerStatuses": [
            {"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
            {"name": "log", "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}},
        ]}));
        assert_eq!(cells(&p)[2], "ContainerCreating");
        // The first container wins (the loop walks backwards).
        let p = pod(json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "restartCount": 4,
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:57:00Z"}},
             "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            running(true),
        ]}));
        let c = cells(&p);
        assert_eq!(
            (c[1].as_str(), c[2].as_str(), c[3].as_str()),
            ("1/2", "CrashLoopBackOff", "4 (3m ago)")
        );
        let p = pod(json!({"phase": "Failed", "containerStatuses": [
            {"name": "app", "state": {"terminated": {"exitCode": 3}}},
            {"name": "log", "state": {"terminated": {"exitCode": 0, "signal": 9}}},
        ]}));
        assert_eq!(cells(&p)[2], "ExitCode:3");
        let p = pod(json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        ]}));
        assert_eq!(cells(&p)[2], "Completed");
        assert_eq!(
            pod_row(&p, now()).conditions,
            Some(
                json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
            )
        );
    }

    #[test]
    fn completed_beside_running_is_running_or_not_ready() {
        let statuses = json!([
            {"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            running(true),
        ]);
        let mut p = pod(json!({"phase": "Running", "containerStatuses": statuses}));
        assert_eq!(cells(&p)[2], "NotReady");
        p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
        assert_eq!(cells(&p)[2], "Running");
    }

    #[test]
    fn init_containers_show_progress_and_failures() {
        let mut p = pod(json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "setup", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "migrate", "state": {"running": {}}},
        ]}));
        p["spec"]["initContainers"] = json!([{"name": "setup"}, {"name": "migrate"}]);
        assert_eq!(cells(&p)[2], "Init:1/2");
        p["status"]["initContainerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff"}});
        assert_eq!(cells(&p)[2], "Init:CrashLoopBackOff");
        p["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 2}});
        assert_eq!(cells(&p)[2], "Init:ExitCode:2");
        p["status"]["initContainerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "PodInitializing"}});
        assert_eq!(cells(&p)[2], "Init:1/2");
    }

    #[test]
    fn sidecars_count_as_containers() {
        let mut p = pod(json!({"phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {"name": "proxy", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}},
            ],
            "containerStatuses": [running(true), running(true)],
        }));
        p["spec"]["initContainers"] = json!([{"name": "proxy", "restartPolicy": "Always"}]);
        let c = cells(&p);
        assert_eq!(
            (c[1].as_str(), c[2].as_str(), c[3].as_str()),
            ("3/3", "Running", "1")
        );
    }

    #[test]
    fn deletion_shows_terminating_unless_finished() {
        let mut p = pod(json!({"phase": "Running"}));
        p["metadata"]["deletionTimestamp"] = json!("2024-05-01T12:00:30Z");
        assert_eq!(cells(&p)[2], "Terminating");
        p["status"]["reason"] = json!("NodeLost");
        assert_eq!(cells(&p)[2], "Unknown");
        let mut done = pod(json!({"phase": "Succeeded"}));
        done["metadata"]["deletionTimestamp"] = json!("2024-05-01T12:00:30Z");
        assert_eq!(cells(&done)[2], "Succeeded");
        let evicted = pod(json!({"phase": "Failed", "reason": "Evicted"}));
        assert_eq!(cells(&evicted)[2], "Evicted");
        let gated = pod(json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}));
        assert_eq!(cells(&gated)[2], "SchedulingGated");
    }

    #[test]
    fn readiness_gates_and_nominated_node() {
        let mut p = pod(
            json!({"phase": "Running", "nominatedNodeName": "n2", "conditions": [
                {"type": "example.com/lb", "status": "True"},
                {"type": "example.com/dns", "status": "False"},
            ]}),
        );
        p["spec"]["readinessGates"] = json!([
            {"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}, {"conditionType": "x"}
        ]);
        let c = cells(&p);
        assert_eq!((c[7].as_str(), c[8].as_str()), ("n2", "1/3"));
        // podIP alone (no podIPs) still shows
        let p = pod(json!({"phase": "Running", "podIP": "10.0.0.9"}));
        assert_eq!(cells(&p)[5], "10.0.0.9");
    }
}
