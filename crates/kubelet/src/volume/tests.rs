//! End-to-end tests of [`VolumeManager`] on temporary kubelet root
//! directories (as root: tmpfs mounts are real and always unmounted).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use api_types::core::v1::{
    ByteString, ConfigMap, ConfigMapVolumeSource, Container, DownwardAPIVolumeFile,
    DownwardAPIVolumeSource, EmptyDirVolumeSource, EnvVar, EnvVarSource, HostPathVolumeSource,
    KeyToPath, ObjectFieldSelector, PersistentVolumeClaimVolumeSource, Pod, PodSpec,
    ProjectedVolumeSource, Secret, SecretProjection, SecretVolumeSource, Volume, VolumeMount,
    VolumeProjection,
};
use api_types::quantity::Quantity;

use super::mount_point::{self, UnmountOnDrop};
use super::*;

const UID: &str = "0b6c7d8e-uid";

struct Fixture {
    _guard: UnmountOnDrop,
    dir: tempfile::TempDir,
    manager: VolumeManager,
    config_maps: BTreeMap<String, ConfigMap>,
    secrets: BTreeMap<String, Secret>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let manager = VolumeManager::new(dir.path().join("kubelet"));
        let cm = ConfigMap {
            data: Some(
                [("app.conf", "debug=false"), ("other", "x")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        let secret = Secret {
            data: Some(
                [("tls.key".to_string(), ByteString(vec![0, 1, 2, 255]))]
                    .into_iter()
                    .collect(),
            ),
            ..Default::default()
        };
        Fixture {
            _guard: UnmountOnDrop(dir.path().to_path_buf()),
            config_maps: [("cfg".to_string(), cm)].into_iter().collect(),
            secrets: [("tls".to_string(), secret)].into_iter().collect(),
            dir,
            manager,
        }
    }

    fn sources(&self) -> VolumeSources<'_> {
        VolumeSources {
            config_maps: &self.config_maps,
            secrets: &self.secrets,
        }
    }

    fn setup(&self, pod: &Pod) -> Result<BTreeMap<String, PathBuf>, VolumeError> {
        self.manager.setup(pod, &self.sources())
    }

    fn host_dir(&self) -> PathBuf {
        self.dir.path().join("host")
    }

    fn mount_count(&self) -> usize {
        let canon = fs::canonicalize(self.dir.path()).expect("canon");
        mount_point::mount_points_below(&canon)
            .expect("mountinfo")
            .len()
    }
}

fn volume(name: &str) -> Volume {
    Volume {
        name: name.into(),
        ..Default::default()
    }
}

fn pod_with(volumes: Vec<Volume>) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.uid = UID.into();
    pod.metadata.name = "web".into();
    pod.metadata.namespace = "prod".into();
    pod.metadata.labels.insert("app".into(), "web".into());
    pod.spec = Some(PodSpec {
        volumes: Some(volumes),
        containers: vec![Container {
            name: "app".into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    pod
}

/// A pod with one volume of every supported kind.
fn full_pod(f: &Fixture) -> Pod {
    pod_with(vec![
        Volume {
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..volume("scratch")
        },
        Volume {
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity::from("2Mi")),
            }),
            ..volume("cache")
        },
        Volume {
            host_path: Some(HostPathVolumeSource {
                path: f.host_dir().to_string_lossy().into_owned(),
                type_: Some("DirectoryOrCreate".into()),
            }),
            ..volume("host")
        },
        Volume {
            config_map: Some(ConfigMapVolumeSource {
                name: "cfg".into(),
                items: Some(vec![KeyToPath {
                    key: "app.conf".into(),
                    path: "conf/app.conf".into(),
                    mode: Some(0o600),
                }]),
                default_mode: Some(0o640),
                optional: None,
            }),
            ..volume("config")
        },
        Volume {
            secret: Some(SecretVolumeSource {
                secret_name: Some("tls".into()),
                items: None,
                default_mode: Some(0o400),
                optional: None,
            }),
            ..volume("certs")
        },
        Volume {
            projected: Some(ProjectedVolumeSource {
                sources: Some(vec![VolumeProjection {
                    secret: Some(SecretProjection {
                        name: "tls".into(),
                        items: None,
                        optional: None,
                    }),
                    ..Default::default()
                }]),
                default_mode: None,
            }),
            ..volume("bundle")
        },
        Volume {
            downward_api: Some(DownwardAPIVolumeSource {
                items: Some(vec![
                    field_file("name", "metadata.name"),
                    field_file("labels", "metadata.labels"),
                ]),
                default_mode: None,
            }),
            ..volume("podinfo")
        },
    ])
}

fn field_file(path: &str, field: &str) -> DownwardAPIVolumeFile {
    DownwardAPIVolumeFile {
        path: path.into(),
        field_ref: Some(ObjectFieldSelector {
            api_version: None,
            field_path: field.into(),
        }),
        resource_field_ref: None,
        mode: None,
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

fn data_target(dir: &Path) -> PathBuf {
    fs::read_link(dir.join(atomic_writer::DATA_DIR)).expect("..data")
}

#[test]
fn every_volume_kind_is_set_up_where_upstream_puts_it() {
    let f = Fixture::new();
    let pod = full_pod(&f);
    let paths = f.setup(&pod).expect("setup");
    let vol = |plugin, name| f.manager.volume_dir(UID, plugin, name);

    assert_eq!(paths["scratch"], vol(EMPTY_DIR_PLUGIN, "scratch"));
    assert!(
        paths["scratch"]
            .ends_with("kubelet/pods/0b6c7d8e-uid/volumes/kubernetes.io~empty-dir/scratch")
    );
    assert_eq!(mode(&paths["scratch"]), 0o777);
    assert!(
        !mount_point::is_mount_point(&paths["scratch"]).expect("stat"),
        "on the node's disk"
    );

    assert!(mount_point::is_tmpfs(&paths["cache"]).expect("statfs"));
    let st = nix::sys::statfs::statfs(&paths["cache"]).expect("statfs");
    assert_eq!(st.blocks() * st.block_size() as u64, 2 << 20);

    assert_eq!(paths["host"], f.host_dir());
    assert!(f.host_dir().is_dir());

    let config = &paths["config"];
    assert_eq!(*config, vol(CONFIG_MAP_PLUGIN, "config"));
    assert_eq!(
        fs::read_to_string(config.join("conf/app.conf")).expect("conf"),
        "debug=false"
    );
    assert_eq!(mode(&config.join("conf/app.conf")), 0o600);
    assert!(!config.join("other").exists(), "only listed items");

    let certs = &paths["certs"];
    assert_eq!(*certs, vol(SECRET_PLUGIN, "certs"));
    assert!(
        mount_point::is_tmpfs(certs).expect("statfs"),
        "secrets stay in memory"
    );
    assert_eq!(
        fs::read(certs.join("tls.key")).expect("key"),
        vec![0, 1, 2, 255]
    );
    assert_eq!(mode(&certs.join("tls.key")), 0o400);

    let bundle = &paths["bundle"];
    assert_eq!(*bundle, vol(PROJECTED_PLUGIN, "bundle"));
    assert!(mount_point::is_tmpfs(bundle).expect("statfs"));
    assert_eq!(mode(&bundle.join("tls.key")), 0o644);

    let info = &paths["podinfo"];
    assert_eq!(*info, vol(DOWNWARD_API_PLUGIN, "podinfo"));
    assert_eq!(fs::read_to_string(info.join("name")).expect("name"), "web");
    assert_eq!(
        fs::read_to_string(info.join("labels")).expect("labels"),
        "app=\"web\""
    );

    assert_eq!(f.mount_count(), 3, "cache, certs and bundle are tmpfs");
    f.manager.teardown(UID).expect("teardown");
}

#[test]
fn setup_is_idempotent() {
    let f = Fixture::new();
    let pod = full_pod(&f);
    let first = f.setup(&pod).expect("first");
    let before = data_target(&first["config"]);
    let mounts = f.mount_count();
    let second = f.setup(&pod).expect("second");
    assert_eq!(first, second);
    assert_eq!(f.mount_count(), mounts, "nothing mounted twice");
    assert_eq!(
        data_target(&second["config"]),
        before,
        "unchanged content not rewritten"
    );
    f.manager.teardown(UID).expect("teardown");
}

#[test]
fn config_map_changes_reach_the_volume_atomically() {
    let mut f = Fixture::new();
    let pod = pod_with(vec![Volume {
        config_map: Some(ConfigMapVolumeSource {
            name: "cfg".into(),
            ..Default::default()
        }),
        ..volume("config")
    }]);
    let dir = f.setup(&pod).expect("setup")["config"].clone();
    assert_eq!(mode(&dir.join("other")), 0o644, "default mode");
    let old = data_target(&dir);

    let cm = f.config_maps.get_mut("cfg").expect("cfg");
    cm.data = Some(
        [("app.conf".to_string(), "debug=true".to_string())]
            .into_iter()
            .collect(),
    );
    f.setup(&pod).expect("update");

    let new = data_target(&dir);
    assert_ne!(old, new, "..data retargeted");
    assert!(!dir.join(&old).exists(), "old data directory removed");
    assert_eq!(
        fs::read_to_string(dir.join("app.conf")).expect("conf"),
        "debug=true"
    );
    assert!(
        fs::symlink_metadata(dir.join("other")).is_err(),
        "removed key disappears"
    );
    assert_eq!(
        fs::read_link(dir.join("app.conf")).expect("link"),
        PathBuf::from("..data/app.conf")
    );
}

#[test]
fn labels_changes_reach_downward_api_files() {
    let f = Fixture::new();
    let mut pod = pod_with(vec![Volume {
        downward_api: Some(DownwardAPIVolumeSource {
            items: Some(vec![field_file("labels", "metadata.labels")]),
            default_mode: Some(0o444),
        }),
        ..volume("podinfo")
    }]);
    let dir = f.setup(&pod).expect("setup")["podinfo"].clone();
    assert_eq!(mode(&dir.join("labels")), 0o444);
    pod.metadata.labels.insert("tier".into(), "front".into());
    f.setup(&pod).expect("update");
    assert_eq!(
        fs::read_to_string(dir.join("labels")).expect("labels"),
        "app=\"web\"\ntier=\"front\""
    );
}

#[test]
fn optional_and_missing_sources() {
    let f = Fixture::new();
    let cm = |name: &str, optional: Option<bool>| Volume {
        config_map: Some(ConfigMapVolumeSource {
            name: name.into(),
            optional,
            ..Default::default()
        }),
        ..volume("v")
    };

    let paths = f
        .setup(&pod_with(vec![cm("absent", Some(true))]))
        .expect("optional");
    let visible: Vec<_> = fs::read_dir(&paths["v"])
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .filter(|n| !n.to_string_lossy().starts_with(".."))
        .collect();
    assert!(visible.is_empty(), "empty volume: {visible:?}");

    let err = f
        .setup(&pod_with(vec![cm("absent", None)]))
        .expect_err("required");
    assert_eq!(
        err.to_string(),
        "MountVolume.SetUp failed for volume \"v\" : configmap \"absent\" not found"
    );

    let secret = Volume {
        secret: Some(SecretVolumeSource {
            secret_name: Some("tls".into()),
            items: Some(vec![KeyToPath {
                key: "nope".into(),
                path: "p".into(),
                mode: None,
            }]),
            ..Default::default()
        }),
        ..volume("s")
    };
    let err = f.setup(&pod_with(vec![secret])).expect_err("missing key");
    assert_eq!(
        err.to_string(),
        "MountVolume.SetUp failed for volume \"s\" : references non-existent secret key: nope"
    );
    f.manager.teardown(UID).expect("teardown");
}

#[test]
fn failures_are_collected_per_volume() {
    let f = Fixture::new();
    let pod = pod_with(vec![
        Volume {
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: "data".into(),
                read_only: None,
            }),
            ..volume("data")
        },
        Volume {
            host_path: Some(HostPathVolumeSource {
                path: f.host_dir().join("missing").to_string_lossy().into_owned(),
                type_: Some("Directory".into()),
            }),
            ..volume("host")
        },
        Volume {
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..volume("ok")
        },
    ]);
    let err = f.setup(&pod).expect_err("two failures");
    let VolumeError::Multiple(errors) = &err else {
        panic!("expected several errors, got {err}");
    };
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].to_string(),
        "MountVolume.SetUp failed for volume \"data\" : volume \"data\": unsupported volume source persistentVolumeClaim"
    );
    assert!(
        errors[1].to_string().ends_with("doesn't exist"),
        "{}",
        errors[1]
    );
    assert!(
        f.manager.volume_dir(UID, EMPTY_DIR_PLUGIN, "ok").is_dir(),
        "the good one is set up"
    );
}

#[test]
fn teardown_unmounts_and_never_touches_host_paths() {
    let f = Fixture::new();
    let pod = full_pod(&f);
    let paths = f.setup(&pod).expect("setup");
    fs::write(f.host_dir().join("precious"), "node data").expect("write");
    // A container could plant links to the host inside its emptyDir.
    std::os::unix::fs::symlink(f.host_dir(), paths["scratch"].join("to-host")).expect("link");
    std::os::unix::fs::symlink(
        f.host_dir().join("precious"),
        paths["cache"].join("file-link"),
    )
    .expect("link");
    assert_eq!(f.mount_count(), 3);

    f.manager.teardown(UID).expect("teardown");
    assert_eq!(f.mount_count(), 0, "tmpfs unmounted");
    assert!(!f.manager.pod_dir(UID).exists(), "pod directory removed");
    assert_eq!(
        fs::read_to_string(f.host_dir().join("precious")).expect("host data"),
        "node data"
    );
    f.manager.teardown(UID).expect("absent pod is fine");
}

#[test]
fn pod_dirs_lists_pods_on_disk() {
    let f = Fixture::new();
    assert!(f.manager.pod_dirs().expect("no pods dir").is_empty());
    let mut a = pod_with(vec![]);
    a.metadata.uid = "b-uid".into();
    let mut b = pod_with(vec![]);
    b.metadata.uid = "a-uid".into();
    f.setup(&a).expect("a");
    f.setup(&b).expect("b");
    fs::write(f.manager.root().join("pods/stray-file"), "").expect("file");
    assert_eq!(f.manager.pod_dirs().expect("list"), vec!["a-uid", "b-uid"]);
    f.manager.teardown("a-uid").expect("teardown");
    assert_eq!(f.manager.pod_dirs().expect("list"), vec!["b-uid"]);
}

#[test]
fn invalid_uids_are_refused() {
    let f = Fixture::new();
    for uid in ["", "..", "a/b"] {
        let err = f.manager.teardown(uid).expect_err(uid);
        assert!(matches!(err, VolumeError::InvalidPodUid(_)), "{err}");
    }
    let mut pod = pod_with(vec![]);
    pod.metadata.uid = "../escape".into();
    assert!(f.setup(&pod).is_err());
}

#[test]
fn container_mounts_follow_upstream() {
    let f = Fixture::new();
    let mut pod = full_pod(&f);
    let mount = |name: &str, path: &str| VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        ..Default::default()
    };
    let container = Container {
        name: "app".into(),
        env: Some(vec![EnvVar {
            name: "POD_NAME".into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: "metadata.name".into(),
                }),
                ..Default::default()
            }),
        }]),
        volume_mounts: Some(vec![
            VolumeMount {
                read_only: Some(true),
                mount_propagation: Some("HostToContainer".into()),
                ..mount("scratch", "/scratch")
            },
            mount("config", "/etc/app"),
            VolumeMount {
                mount_propagation: Some("Bidirectional".into()),
                ..mount("host", "/host")
            },
            VolumeMount {
                sub_path_expr: Some("logs/$(POD_NAME)".into()),
                ..mount("scratch", "/logs")
            },
            VolumeMount {
                sub_path: Some("tls.key".into()),
                ..mount("certs", "/key.pem")
            },
        ]),
        ..Default::default()
    };
    pod.spec.as_mut().expect("spec").containers = vec![container.clone()];
    let paths = f.setup(&pod).expect("setup");
    let mounts = f.manager.mounts(&pod, &container, &paths).expect("mounts");
    assert_eq!(mounts.len(), 5);

    let scratch = &mounts[0];
    assert_eq!(scratch.container_path, "/scratch");
    assert_eq!(scratch.host_path, paths["scratch"].to_string_lossy());
    assert!(scratch.readonly && scratch.selinux_relabel);
    assert_eq!(
        scratch.propagation,
        cri::v1::MountPropagation::PropagationHostToContainer as i32
    );

    let config = &mounts[1];
    assert!(config.readonly, "configMap volumes are always read-only");
    assert_eq!(
        config.propagation,
        cri::v1::MountPropagation::PropagationPrivate as i32
    );

    let host = &mounts[2];
    assert!(
        !host.readonly && !host.selinux_relabel,
        "hostPath is not relabelled"
    );
    assert_eq!(
        host.propagation,
        cri::v1::MountPropagation::PropagationBidirectional as i32
    );

    let logs = &mounts[3];
    let expected = fs::canonicalize(&paths["scratch"])
        .expect("canon")
        .join("logs/web");
    assert_eq!(logs.host_path, expected.to_string_lossy());
    assert!(expected.is_dir(), "subPath created");
    assert_eq!(mode(&expected), 0o777, "with the volume root's mode");

    let key = &mounts[4];
    assert!(key.readonly);
    assert_eq!(fs::read(&key.host_path).expect("key"), vec![0, 1, 2, 255]);

    // Unknown volumes and escaping subPaths are errors.
    let bad = Container {
        name: "bad".into(),
        volume_mounts: Some(vec![mount("nope", "/x")]),
        ..Default::default()
    };
    assert_eq!(
        f.manager
            .mounts(&pod, &bad, &paths)
            .expect_err("unknown")
            .to_string(),
        "cannot find volume \"nope\" to mount into container \"bad\""
    );
    let escape = Container {
        name: "esc".into(),
        volume_mounts: Some(vec![VolumeMount {
            sub_path: Some("../../etc".into()),
            ..mount("scratch", "/x")
        }]),
        ..Default::default()
    };
    assert!(matches!(
        f.manager.mounts(&pod, &escape, &paths),
        Err(VolumeError::SubPathBacksteps(_))
    ));
    let missing_env = Container {
        name: "env".into(),
        volume_mounts: Some(vec![VolumeMount {
            sub_path_expr: Some("$(NOPE)".into()),
            ..mount("scratch", "/x")
        }]),
        ..Default::default()
    };
    assert_eq!(
        f.manager
            .mounts(&pod, &missing_env, &paths)
            .expect_err("env")
            .to_string(),
        "missing value for NOPE"
    );
    f.manager.teardown(UID).expect("teardown");
}
