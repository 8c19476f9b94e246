//! The CRI client against a real containerd: our proto description must
//! interoperate on the wire (sandbox with CNI networking, image status,
//! container create/start/exec/stop/remove, filters).

use std::collections::HashMap;
use std::time::Duration;

use cri::{ImageService, RemoteRuntime, RuntimeService, v1};
use test_support::containerd::{BUSYBOX_IMAGE, Containerd};

fn conflist(cd: &Containerd) -> String {
    format!(
        r#"{{"cniVersion":"1.0.0","name":"podnet","plugins":[
{{"type":"bridge","bridge":"{}","isGateway":true,"ipMasq":true,"hairpinMode":true,
 "ipam":{{"type":"host-local","dataDir":"{}","ranges":[[{{"subnet":"{}"}}]],"routes":[{{"dst":"0.0.0.0/0"}}]}}}},
{{"type":"portmap","capabilities":{{"portMappings":true}}}},
{{"type":"firewall","backend":"iptables"}}]}}"#,
        cd.bridge(),
        cd.scratch("ipam").display(),
        cd.pod_cidr()
    )
}

#[tokio::test]
async fn pod_with_a_web_server() -> Result<(), Box<dyn std::error::Error>> {
    test_support::init_tracing();
    let cd = Containerd::start();
    std::fs::write(cd.cni_conf_dir().join("10-podnet.conflist"), conflist(&cd))?;
    let rt = RemoteRuntime::new(&cd.endpoint(), Duration::from_secs(60))?;

    let version = rt.version().await?;
    assert_eq!(version.runtime_name, "containerd");
    assert_eq!(version.runtime_api_version, "v1");
    let status = rt.status().await?;
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.r#type == "RuntimeReady" && c.status)
    );

    let image = rt
        .image_status(BUSYBOX_IMAGE)
        .await?
        .ok_or("busybox image missing")?;
    assert!(image.id.starts_with("sha256:"));
    assert!(rt.image_status("localhost/nope:1").await?.is_none());

    let logs = cd.scratch("logs");
    let labels: HashMap<_, _> = [("io.kubernetes.pod.uid".to_string(), "uid-1".to_string())].into();
    let sandbox_config = v1::PodSandboxConfig {
        metadata: Some(v1::PodSandboxMetadata {
            name: "web".into(),
            uid: "uid-1".into(),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: "web".into(),
        log_directory: logs.display().to_string(),
        labels: labels.clone(),
        linux: Some(v1::LinuxPodSandboxConfig {
            cgroup_parent: format!("{}/pod-uid-1", cd.cgroup_root()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let sb = rt.run_pod_sandbox(sandbox_config.clone(), "").await?;
    let sb_status = rt.pod_sandbox_status(&sb).await?;
    assert_eq!(sb_status.state, v1::PodSandboxState::SandboxReady as i32);
    let ip = sb_status.network.map(|n| n.ip).unwrap_or_default();
    assert!(!ip.is_empty(), "the sandbox got no IP from CNI");

    let config = v1::ContainerConfig {
        metadata: Some(v1::ContainerMetadata {
            name: "httpd".into(),
            attempt: 0,
        }),
        image: Some(v1::ImageSpec {
            image: BUSYBOX_IMAGE.into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into()],
        args: vec![
            "echo hello > /tmp/index.html && echo started && exec httpd -f -p 8080 -h /tmp".into(),
        ],
        envs: vec![v1::KeyValue {
            key: "GREETING".into(),
            value: "hi".into(),
        }],
        labels: labels.clone(),
        log_path: "httpd/0.log".into(),
        ..Default::default()
    };
    let id = rt.create_container(&sb, config, sandbox_config).await?;
    rt.start_container(&id).await?;
    let st = rt.container_status(&id).await?;
    assert_eq!(st.state, v1::ContainerState::ContainerRunning as i32);

    // The pod answers on its own IP, from the host.
    let url = format!("http://{ip}:8080/index.html");
    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(out) = std::process::Command::new("busybox")
            .args(["wget", "-qO-", &url])
            .output()
        {
            body = String::from_utf8_lossy(&out.stdout).into_owned();
            if body.contains("hello") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body.trim(), "hello");

    // exec sees the container's environment.
    let out = rt
        .exec_sync(
            &id,
            vec!["sh".into(), "-c".into(), "echo $GREETING; exit 3".into()],
            Duration::from_secs(10),
        )
        .await?;
    assert_eq!(
        (String::from_utf8_lossy(&out.stdout).trim(), out.exit_code),
        ("hi", 3)
    );

    // The log file is in CRI format under the sandbox's log directory.
    let log = std::fs::read_to_string(logs.join("httpd/0.log"))?;
    assert!(log.contains(" stdout F started"), "{log}");

    // Filters select by label and state.
    let filter = v1::ContainerFilter {
        label_selector: labels.clone(),
        ..Default::default()
    };
    assert_eq!(rt.list_containers(Some(filter)).await?.len(), 1);

    rt.stop_container(&id, Duration::from_secs(2)).await?;
    let st = rt.container_status(&id).await?;
    assert_eq!(st.state, v1::ContainerState::ContainerExited as i32);
    rt.remove_container(&id).await?;
    assert!(
        rt.container_status(&id)
            .await
            .err()
            .is_some_and(|e| e.is_not_found())
    );
    rt.stop_pod_sandbox(&sb).await?;
    rt.remove_pod_sandbox(&sb).await?;
    assert!(rt.list_pod_sandbox(None).await?.is_empty());
    Ok(())
}
