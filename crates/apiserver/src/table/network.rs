//! Printers for service networking: services, endpoints, endpoint slices.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::format::{age, at, host_port, int, labels, list, list_with_more, name, text};
use super::{AGE, Column, NAME, Printer, Row};

pub const SERVICES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Type",
            "string",
            0,
            "type determines how the Service is exposed. Defaults to ClusterIP.",
        ),
        Column::new(
            "Cluster-IP",
            "string",
            0,
            "clusterIP is the IP address of the service and is usually assigned randomly.",
        ),
        Column::new(
            "External-IP",
            "string",
            0,
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
        ),
        Column::new(
            "Port(s)",
            "string",
            0,
            "The list of ports that are exposed by this service.",
        ),
        AGE,
        Column::new(
            "Selector",
            "string",
            1,
            "Route service traffic to pods with label keys and values matching this selector.",
        ),
    ],
    row: service_row,
};

/// Load balancer ingress IPs (or hostnames), sorted and de-duplicated.
fn load_balancer(svc: &Value) -> Vec<String> {
    let mut out: Vec<String> = list(svc, &["status", "loadBalancer", "ingress"])
        .iter()
        .filter_map(|i| match (text(i, &["ip"]), text(i, &["hostname"])) {
            ("", "") => None,
            ("", host) => Some(host.to_string()),
            (ip, _) => Some(ip.to_string()),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// EXTERNAL-IP by service type (`getServiceExternalIP`). Servers always
/// print wide, so load balancer addresses are not clipped.
fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = list(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match text(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" | "" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" | "" => "<none>".into(),
        "LoadBalancer" => {
            let mut all = load_balancer(svc);
            all.extend(external.iter().map(|s| s.to_string()));
            if all.is_empty() {
                "<pending>".into()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => text(svc, &["spec", "externalName"]).into(),
        _ => "<unknown>".into(),
    }
}

/// `80/TCP,443:30443/TCP`
fn ports(svc: &Value) -> String {
    let pieces: Vec<String> = list(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let protocol = match text(p, &["protocol"]) {
                "" => "TCP",
                proto => proto,
            };
            match int(p, &["nodePort"]) {
                0 => format!("{}/{protocol}", int(p, &["port"])),
                node => format!("{}:{node}/{protocol}", int(p, &["port"])),
            }
        })
        .collect();
    if pieces.is_empty() {
        "<none>".into()
    } else {
        pieces.join(",")
    }
}

fn service_row(svc: &Value, now: DateTime<Utc>) -> Row {
    let cluster_ip = list(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .or_else(|| at(svc, &["spec", "clusterIP"]).and_then(Value::as_str))
        .filter(|ip| !ip.is_empty())
        .unwrap_or("<none>");
    Row::new(vec![
        name(svc).into(),
        text(svc, &["spec", "type"]).into(),
        cluster_ip.into(),
        external_ip(svc).into(),
        ports(svc).into(),
        age(svc, now),
        labels(at(svc, &["spec", "selector"])).into(),
    ])
}

pub const ENDPOINTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Endpoints",
            "string",
            0,
            "The set of all endpoints is the union of all subsets.",
        ),
        AGE,
    ],
    row: |ep, now| Row::new(vec![name(ep).into(), endpoints(ep).into(), age(ep, now)]),
};

/// `ip:port` for every address and port, at most three, `<none>` for no
/// subsets (`formatEndpoints`).
fn endpoints(ep: &Value) -> String {
    let subsets = list(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut shown: Vec<String> = Vec::new();
    let mut count = 0usize;
    for ss in subsets {
        let addresses = list(ss, &["addresses"]);
        let ips = addresses.iter().map(|a| text(a, &["ip"]));
        let subset_ports = list(ss, &["ports"]);
        if subset_ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            shown.extend(
                ips.take(MAX.saturating_sub(shown.len()))
                    .map(str::to_string),
            );
            continue;
        }
        for port in subset_ports {
            count += addresses.len();
            for ip in ips.clone() {
                if shown.len() == MAX {
                    break;
                }
                shown.push(host_port(ip, int(port, &["port"])));
            }
        }
    }
    let joined = shown.join(",");
    if count > shown.len() && shown.len() == MAX {
        format!("{joined} + {} more...", count - MAX)
    } else {
        joined
    }
}

pub const ENDPOINT_SLICES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "AddressType",
            "string",
            0,
            "addressType specifies the type of address carried by this EndpointSlice.",
        ),
        Column::new(
            "Ports",
            "string",
            0,
            "ports specifies the list of network ports exposed by each endpoint in this slice.",
        ),
        Column::new(
            "Endpoints",
            "string",
            0,
            "endpoints is a list of unique endpoints in this slice.",
        ),
        AGE,
    ],
    row: endpoint_slice_row,
};

fn endpoint_slice_row(slice: &Value, now: DateTime<Utc>) -> Row {
    let ports: Vec<String> = list(slice, &["ports"])
        .iter()
        .map(
            |p| match (at(p, &["port"]).and_then(Value::as_i64), text(p, &["name"])) {
                (Some(port), _) => port.to_string(),
                (None, "") => "*".into(),
                (None, name) => name.into(),
            },
        )
        .collect();
    let addresses: Vec<String> = list(slice, &["endpoints"])
        .iter()
        .flat_map(|e| list(e, &["addresses"]))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    Row::new(vec![
        name(slice).into(),
        text(slice, &["addressType"]).into(),
        list_with_more(&ports, 3, "<unset>").into(),
        list_with_more(&addresses, 3, "<unset>").into(),
        age(slice, now),
    ])
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

    #[test]
    fn services_by_type() {
        let svc = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                     "selector": {"app": "web", "tier": "fe"},
                     "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}
        });
        assert_eq!(
            service_row(&svc, now()).cells,
            vec![
                json!("web"),
                json!("NodePort"),
                json!("10.96.0.10"),
                json!("<none>"),
                json!("80:30080/TCP,53/UDP"),
                json!("120m"),
                json!("app=web,tier=fe")
            ]
        );
        let lb = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "externalIPs": ["1.2.3.4"]},
                        "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "5.6.7.8"}]}}});
        let c = service_row(&lb, now()).cells;
        assert_eq!(
            (&c[2], &c[3], &c[4], &c[6]),
            (
                &json!("<none>"),
                &json!("5.6.7.8,lb.example.com,1.2.3.4"),
                &json!("<none>"),
                &json!("<none>")
            )
        );
        let pending = json!({"metadata": {"name": "p"}, "spec": {"type": "LoadBalancer"}});
        assert_eq!(service_row(&pending, now()).cells[3], "<pending>");
        let ext = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(service_row(&ext, now()).cells[3], "db.example.com");
        let headless = json!({"metadata": {"name": "h"}, "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}});
        assert_eq!(service_row(&headless, now()).cells[2], "None");
    }

    #[test]
    fn endpoints_show_three_then_count_the_rest() {
        let ep = |subsets: Value| {
            (ENDPOINTS.row)(
                &json!({"metadata": {"name": "e"}, "subsets": subsets}),
                now(),
            )
            .cells[1]
                .clone()
        };
        assert_eq!(ep(json!([])), "<none>");
        assert_eq!(
            ep(
                json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}]}])
            ),
            "10.0.0.1:80,10.0.0.2:80"
        );
        assert_eq!(
            ep(
                json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}])
            ),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."
        );
        assert_eq!(ep(json!([{"addresses": [{"ip": "fd00::1"}]}])), "fd00::1");
        assert_eq!(
            ep(json!([{"notReadyAddresses": [{"ip": "10.0.0.3"}], "ports": [{"port": 80}]}])),
            ""
        );
    }

    #[test]
    fn endpoint_slices() {
        let s = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
            "ports": [{"port": 80, "name": "http"}, {"name": "dns"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]});
        let c = endpoint_slice_row(&s, now()).cells;
        assert_eq!(
            (&c[1], &c[2], &c[3]),
            (
                &json!("IPv4"),
                &json!("80,dns,*"),
                &json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...")
            )
        );
        let empty = endpoint_slice_row(&json!({"metadata": {"name": "x"}}), now()).cells;
        assert_eq!(
            (&empty[2], &empty[3]),
            (&json!("<unset>"), &json!("<unset>"))
        );
    }
}
