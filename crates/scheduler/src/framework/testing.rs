//! Builders for the unit tests: nodes and pods in a line each.

use std::collections::BTreeMap;

use api_types::core::v1::{
    Affinity, Container, ContainerPort, Node, NodeAffinity, NodeCondition, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, NodeSpec, NodeStatus, Pod, PodAffinity,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PodStatus, PreferredSchedulingTerm,
    ResourceRequirements, Taint, Toleration, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use api_types::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use api_types::quantity::Quantity;

use super::plugins::pod_topology_spread::HOSTNAME;

pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), Quantity::from(*v)))
        .collect()
}

/// A container requesting `cpu` and `memory` (an empty string leaves the entry out).
pub(crate) fn container(cpu: &str, memory: &str) -> Container {
    Container {
        name: "c".into(),
        image: Some("busybox".into()),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", cpu), ("memory", memory)])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn init_container(cpu: &str, memory: &str) -> Container {
    Container {
        name: "init".into(),
        ..container(cpu, memory)
    }
}

pub(crate) fn sidecar(cpu: &str, memory: &str) -> Container {
    Container {
        name: "sidecar".into(),
        restart_policy: Some("Always".into()),
        ..container(cpu, memory)
    }
}

/// A Ready node with `cpu`/`memory` allocatable, room for 110 pods and the
/// `kubernetes.io/hostname` label.
pub(crate) fn node(name: &str, cpu: &str, memory: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: name.into(),
            labels: labels(&[(HOSTNAME, name)]),
            ..Default::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            allocatable: Some(quantities(&[
                ("cpu", cpu),
                ("memory", memory),
                ("pods", "110"),
            ])),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) trait NodeBuild: Sized {
    fn node_mut(&mut self) -> &mut Node;

    fn with_labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.node_mut().metadata.labels.extend(labels(pairs));
        self
    }
    fn with_taint(mut self, key: &str, value: &str, effect: &str) -> Self {
        let spec = self.node_mut().spec.get_or_insert_with(Default::default);
        spec.taints.get_or_insert_with(Vec::new).push(Taint {
            key: key.into(),
            value: (!value.is_empty()).then(|| value.into()),
            effect: effect.into(),
            time_added: None,
        });
        self
    }
    fn cordoned(mut self) -> Self {
        self.node_mut()
            .spec
            .get_or_insert_with(Default::default)
            .unschedulable = Some(true);
        self
    }
    fn with_ready(mut self, status: &str) -> Self {
        if let Some(cs) = self
            .node_mut()
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
        {
            for c in cs.iter_mut().filter(|c| c.type_ == "Ready") {
                c.status = status.into();
            }
        }
        self
    }
    fn without_conditions(mut self) -> Self {
        if let Some(s) = self.node_mut().status.as_mut() {
            s.conditions = None;
        }
        self
    }
    fn with_allocatable(mut self, name: &str, quantity: &str) -> Self {
        if let Some(s) = self.node_mut().status.as_mut() {
            s.allocatable
                .get_or_insert_with(BTreeMap::new)
                .insert(name.into(), Quantity::from(quantity));
        }
        self
    }
}

impl NodeBuild for Node {
    fn node_mut(&mut self) -> &mut Node {
        self
    }
}

/// A pod in `default` with one container that requests nothing.
pub(crate) fn pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: "default".into(),
            uid: format!("uid-{name}"),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `labelSelector: {matchLabels: {key: value}}` within `topology_key`.
pub(crate) fn term(key: &str, value: &str, topology_key: &str) -> PodAffinityTerm {
    PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(labels(&[(key, value)])),
            ..Default::default()
        }),
        topology_key: topology_key.into(),
        ..Default::default()
    }
}

pub(crate) fn weighted(weight: i32, t: PodAffinityTerm) -> WeightedPodAffinityTerm {
    WeightedPodAffinityTerm {
        weight,
        pod_affinity_term: t,
    }
}

pub(crate) fn requirement(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
    }
}

pub(crate) fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Toleration {
        key: opt(key),
        operator: opt(op),
        value: opt(value),
        effect: opt(effect),
        toleration_seconds: None,
    }
}

/// A spread constraint over pods labelled `app=<app>`.
pub(crate) fn spread(
    max_skew: i32,
    topology_key: &str,
    when: &str,
    app: &str,
) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew,
        topology_key: topology_key.into(),
        when_unsatisfiable: when.into(),
        label_selector: Some(LabelSelector {
            match_labels: Some(labels(&[("app", app)])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) trait PodBuild: Sized {
    fn pod_mut(&mut self) -> &mut Pod;

    fn spec_mut(&mut self) -> &mut PodSpec {
        self.pod_mut().spec.get_or_insert_with(Default::default)
    }
    fn affinity_mut(&mut self) -> &mut Affinity {
        self.spec_mut()
            .affinity
            .get_or_insert_with(Default::default)
    }

    fn in_namespace(mut self, ns: &str) -> Self {
        self.pod_mut().metadata.namespace = ns.into();
        self
    }
    fn with_labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.pod_mut().metadata.labels.extend(labels(pairs));
        self
    }
    fn with_requests(mut self, cpu: &str, memory: &str) -> Self {
        self.spec_mut().containers = vec![container(cpu, memory)];
        self
    }
    fn with_extra_request(mut self, name: &str, quantity: &str) -> Self {
        if let Some(c) = self.spec_mut().containers.first_mut() {
            c.resources
                .get_or_insert_with(Default::default)
                .requests
                .get_or_insert_with(BTreeMap::new)
                .insert(name.into(), Quantity::from(quantity));
        }
        self
    }
    fn on_node(mut self, node: &str) -> Self {
        self.spec_mut().node_name = Some(node.into());
        self
    }
    fn with_phase(mut self, phase: &str) -> Self {
        self.pod_mut().status = Some(PodStatus {
            phase: Some(phase.into()),
            ..Default::default()
        });
        self
    }
    fn terminating(mut self) -> Self {
        self.pod_mut().metadata.deletion_timestamp = Some(Time::now());
        self
    }
    fn owned_by(mut self, kind: &str, name: &str) -> Self {
        self.pod_mut().metadata.owner_references = vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: format!("uid-{name}"),
            controller: Some(true),
            block_owner_deletion: None,
        }];
        self
    }
    fn with_host_port(mut self, ip: &str, protocol: &str, port: i32) -> Self {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        if let Some(c) = self.spec_mut().containers.first_mut() {
            c.ports.get_or_insert_with(Vec::new).push(ContainerPort {
                container_port: port,
                host_port: Some(port),
                host_ip: opt(ip),
                protocol: opt(protocol),
                name: None,
            });
        }
        self
    }
    fn with_tolerations(mut self, tolerations: Vec<Toleration>) -> Self {
        self.spec_mut().tolerations = Some(tolerations);
        self
    }
    fn with_node_selector(mut self, pairs: &[(&str, &str)]) -> Self {
        self.spec_mut().node_selector = Some(labels(pairs));
        self
    }
    fn with_required_node_affinity(mut self, terms: Vec<Vec<NodeSelectorRequirement>>) -> Self {
        let terms = terms
            .into_iter()
            .map(|exprs| NodeSelectorTerm {
                match_expressions: Some(exprs),
                match_fields: None,
            })
            .collect();
        self.affinity_mut()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .required_during_scheduling_ignored_during_execution = Some(NodeSelector {
            node_selector_terms: terms,
        });
        self
    }
    fn with_node_name_affinity(mut self, op: &str, name: &str) -> Self {
        self.affinity_mut()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .required_during_scheduling_ignored_during_execution = Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm {
                match_expressions: None,
                match_fields: Some(vec![requirement("metadata.name", op, &[name])]),
            }],
        });
        self
    }
    fn with_preferred_node_affinity(
        mut self,
        weight: i32,
        exprs: Vec<NodeSelectorRequirement>,
    ) -> Self {
        self.affinity_mut()
            .node_affinity
            .get_or_insert_with(NodeAffinity::default)
            .preferred_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(PreferredSchedulingTerm {
                weight,
                preference: NodeSelectorTerm {
                    match_expressions: Some(exprs),
                    match_fields: None,
                },
            });
        self
    }
    fn with_pod_affinity(mut self, terms: Vec<PodAffinityTerm>) -> Self {
        self.affinity_mut()
            .pod_affinity
            .get_or_insert_with(PodAffinity::default)
            .required_during_scheduling_ignored_during_execution = Some(terms);
        self
    }
    fn with_pod_anti_affinity(mut self, terms: Vec<PodAffinityTerm>) -> Self {
        self.affinity_mut()
            .pod_anti_affinity
            .get_or_insert_with(PodAntiAffinity::default)
            .required_during_scheduling_ignored_during_execution = Some(terms);
        self
    }
    fn with_preferred_pod_affinity(mut self, terms: Vec<WeightedPodAffinityTerm>) -> Self {
        self.affinity_mut()
            .pod_affinity
            .get_or_insert_with(PodAffinity::default)
            .preferred_during_scheduling_ignored_during_execution = Some(terms);
        self
    }
    fn with_preferred_pod_anti_affinity(mut self, terms: Vec<WeightedPodAffinityTerm>) -> Self {
        self.affinity_mut()
            .pod_anti_affinity
            .get_or_insert_with(PodAntiAffinity::default)
            .preferred_during_scheduling_ignored_during_execution = Some(terms);
        self
    }
    fn with_spread(mut self, constraints: Vec<TopologySpreadConstraint>) -> Self {
        self.spec_mut().topology_spread_constraints = Some(constraints);
        self
    }
}

impl PodBuild for Pod {
    fn pod_mut(&mut self) -> &mut Pod {
        self
    }
}
