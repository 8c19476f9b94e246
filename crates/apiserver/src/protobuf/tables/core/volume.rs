//! Pod volumes: every volume source, projections, and the ephemeral
//! PersistentVolumeClaim template.

use super::*;

pub static VOLUME: Message = message(
    "Volume",
    &[field(1, "name", STRING), inline(2, msg(&VOLUME_SOURCE))],
);

pub static VOLUME_SOURCE: Message = message(
    "VolumeSource",
    &[
        field(1, "hostPath", msg(&HOST_PATH_VOLUME_SOURCE)),
        field(2, "emptyDir", msg(&EMPTY_DIR_VOLUME_SOURCE)),
        field(
            3,
            "gcePersistentDisk",
            msg(&GCE_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        field(
            4,
            "awsElasticBlockStore",
            msg(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE),
        ),
        field(5, "gitRepo", msg(&GIT_REPO_VOLUME_SOURCE)),
        field(6, "secret", msg(&SECRET_VOLUME_SOURCE)),
        field(7, "nfs", msg(&NFS_VOLUME_SOURCE)),
        field(8, "iscsi", msg(&ISCSI_VOLUME_SOURCE)),
        field(9, "glusterfs", msg(&GLUSTERFS_VOLUME_SOURCE)),
        field(
            10,
            "persistentVolumeClaim",
            msg(&PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE),
        ),
        field(11, "rbd", msg(&RBD_VOLUME_SOURCE)),
        field(12, "flexVolume", msg(&FLEX_VOLUME_SOURCE)),
        field(13, "cinder", msg(&CINDER_VOLUME_SOURCE)),
        field(14, "cephfs", msg(&CEPH_FS_VOLUME_SOURCE)),
        field(15, "flocker", msg(&FLOCKER_VOLUME_SOURCE)),
        field(16, "downwardAPI", msg(&DOWNWARD_API_VOLUME_SOURCE)),
        field(17, "fc", msg(&FC_VOLUME_SOURCE)),
        field(18, "azureFile", msg(&AZURE_FILE_VOLUME_SOURCE)),
        field(19, "configMap", msg(&CONFIG_MAP_VOLUME_SOURCE)),
        field(
            20,
            "vsphereVolume",
            msg(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE),
        ),
        field(21, "quobyte", msg(&QUOBYTE_VOLUME_SOURCE)),
        field(22, "azureDisk", msg(&AZURE_DISK_VOLUME_SOURCE)),
        field(
            23,
            "photonPersistentDisk",
            msg(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        field(24, "portworxVolume", msg(&PORTWORX_VOLUME_SOURCE)),
        field(25, "scaleIO", msg(&SCALE_IO_VOLUME_SOURCE)),
        field(26, "projected", msg(&PROJECTED_VOLUME_SOURCE)),
        field(27, "storageos", msg(&STORAGE_OS_VOLUME_SOURCE)),
        field(28, "csi", msg(&CSI_VOLUME_SOURCE)),
        field(29, "ephemeral", msg(&EPHEMERAL_VOLUME_SOURCE)),
        field(30, "image", msg(&IMAGE_VOLUME_SOURCE)),
    ],
);

pub static HOST_PATH_VOLUME_SOURCE: Message = message(
    "HostPathVolumeSource",
    &[field(1, "path", STRING), keep(2, "type", STRING)],
);

pub static EMPTY_DIR_VOLUME_SOURCE: Message = message(
    "EmptyDirVolumeSource",
    &[field(1, "medium", STRING), field(2, "sizeLimit", QUANTITY)],
);

pub static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = message(
    "GCEPersistentDiskVolumeSource",
    &[
        field(1, "pdName", STRING),
        field(2, "fsType", STRING),
        field(3, "partition", INT32),
        field(4, "readOnly", BOOL),
    ],
);

pub static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = message(
    "AWSElasticBlockStoreVolumeSource",
    &[
        field(1, "volumeID", STRING),
        field(2, "fsType", STRING),
        field(3, "partition", INT32),
        field(4, "readOnly", BOOL),
    ],
);

pub static GIT_REPO_VOLUME_SOURCE: Message = message(
    "GitRepoVolumeSource",
    &[
        field(1, "repository", STRING),
        field(2, "revision", STRING),
        field(3, "directory", STRING),
    ],
);

pub static SECRET_VOLUME_SOURCE: Message = message(
    "SecretVolumeSource",
    &[
        field(1, "secretName", STRING),
        list(2, "items", msg(&KEY_TO_PATH)),
        keep(3, "defaultMode", INT32),
        keep(4, "optional", BOOL),
    ],
);

pub static KEY_TO_PATH: Message = message(
    "KeyToPath",
    &[
        field(1, "key", STRING),
        field(2, "path", STRING),
        keep(3, "mode", INT32),
    ],
);

pub static NFS_VOLUME_SOURCE: Message = message(
    "NFSVolumeSource",
    &[
        field(1, "server", STRING),
        field(2, "path", STRING),
        field(3, "readOnly", BOOL),
    ],
);

pub static ISCSI_VOLUME_SOURCE: Message = message(
    "ISCSIVolumeSource",
    &[
        field(1, "targetPortal", STRING),
        field(2, "iqn", STRING),
        field(3, "lun", INT32),
        field(4, "iscsiInterface", STRING),
        field(5, "fsType", STRING),
        field(6, "readOnly", BOOL),
        list(7, "portals", STRING),
        field(8, "chapAuthDiscovery", BOOL),
        field(10, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
        field(11, "chapAuthSession", BOOL),
        keep(12, "initiatorName", STRING),
    ],
);

pub static GLUSTERFS_VOLUME_SOURCE: Message = message(
    "GlusterfsVolumeSource",
    &[
        field(1, "endpoints", STRING),
        field(2, "path", STRING),
        field(3, "readOnly", BOOL),
    ],
);

pub static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = message(
    "PersistentVolumeClaimVolumeSource",
    &[field(1, "claimName", STRING), field(2, "readOnly", BOOL)],
);

pub static RBD_VOLUME_SOURCE: Message = message(
    "RBDVolumeSource",
    &[
        list(1, "monitors", STRING),
        field(2, "image", STRING),
        field(3, "fsType", STRING),
        field(4, "pool", STRING),
        field(5, "user", STRING),
        field(6, "keyring", STRING),
        field(7, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
        field(8, "readOnly", BOOL),
    ],
);

pub static FLEX_VOLUME_SOURCE: Message = message(
    "FlexVolumeSource",
    &[
        field(1, "driver", STRING),
        field(2, "fsType", STRING),
        field(3, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
        field(4, "readOnly", BOOL),
        map(5, "options", STRING),
    ],
);

pub static CINDER_VOLUME_SOURCE: Message = message(
    "CinderVolumeSource",
    &[
        field(1, "volumeID", STRING),
        field(2, "fsType", STRING),
        field(3, "readOnly", BOOL),
        field(4, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
    ],
);

pub static CEPH_FS_VOLUME_SOURCE: Message = message(
    "CephFSVolumeSource",
    &[
        list(1, "monitors", STRING),
        field(2, "path", STRING),
        field(3, "user", STRING),
        field(4, "secretFile", STRING),
        field(5, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
        field(6, "readOnly", BOOL),
    ],
);

pub static FLOCKER_VOLUME_SOURCE: Message = message(
    "FlockerVolumeSource",
    &[
        field(1, "datasetName", STRING),
        field(2, "datasetUUID", STRING),
    ],
);

pub static DOWNWARD_API_VOLUME_SOURCE: Message = message(
    "DownwardAPIVolumeSource",
    &[
        list(1, "items", msg(&DOWNWARD_API_VOLUME_FILE)),
        keep(2, "defaultMode", INT32),
    ],
);

pub static DOWNWARD_API_VOLUME_FILE: Message = message(
    "DownwardAPIVolumeFile",
    &[
        field(1, "path", STRING),
        field(2, "fieldRef", msg(&OBJECT_FIELD_SELECTOR)),
        field(3, "resourceFieldRef", msg(&RESOURCE_FIELD_SELECTOR)),
        keep(4, "mode", INT32),
    ],
);

pub static OBJECT_FIELD_SELECTOR: Message = message(
    "ObjectFieldSelector",
    &[
        field(1, "apiVersion", STRING),
        field(2, "fieldPath", STRING),
    ],
);

pub static RESOURCE_FIELD_SELECTOR: Message = message(
    "ResourceFieldSelector",
    &[
        field(1, "containerName", STRING),
        field(2, "resource", STRING),
        field(3, "divisor", QUANTITY),
    ],
);

pub static FC_VOLUME_SOURCE: Message = message(
    "FCVolumeSource",
    &[
        list(1, "targetWWNs", STRING),
        keep(2, "lun", INT32),
        field(3, "fsType", STRING),
        field(4, "readOnly", BOOL),
        list(5, "wwids", STRING),
    ],
);

pub static AZURE_FILE_VOLUME_SOURCE: Message = message(
    "AzureFileVolumeSource",
    &[
        field(1, "secretName", STRING),
        field(2, "shareName", STRING),
        field(3, "readOnly", BOOL),
    ],
);

pub static CONFIG_MAP_VOLUME_SOURCE: Message = message(
    "ConfigMapVolumeSource",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        list(2, "items", msg(&KEY_TO_PATH)),
        keep(3, "defaultMode", INT32),
        keep(4, "optional", BOOL),
    ],
);

pub static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = message(
    "VsphereVirtualDiskVolumeSource",
    &[
        field(1, "volumePath", STRING),
        field(2, "fsType", STRING),
        field(3, "storagePolicyName", STRING),
        field(4, "storagePolicyID", STRING),
    ],
);

pub static QUOBYTE_VOLUME_SOURCE: Message = message(
    "QuobyteVolumeSource",
    &[
        field(1, "registry", STRING),
        field(2, "volume", STRING),
        field(3, "readOnly", BOOL),
        field(4, "user", STRING),
        field(5, "group", STRING),
        field(6, "tenant", STRING),
    ],
);

pub static AZURE_DISK_VOLUME_SOURCE: Message = message(
    "AzureDiskVolumeSource",
    &[
        field(1, "diskName", STRING),
        field(2, "diskURI", STRING),
        keep(3, "cachingMode", STRING),
        keep(4, "fsType", STRING),
        keep(5, "readOnly", BOOL),
        keep(6, "kind", STRING),
    ],
);

pub static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message = message(
    "PhotonPersistentDiskVolumeSource",
    &[field(1, "pdID", STRING), field(2, "fsType", STRING)],
);

pub static PROJECTED_VOLUME_SOURCE: Message = message(
    "ProjectedVolumeSource",
    &[
        list(1, "sources", msg(&VOLUME_PROJECTION)),
        keep(2, "defaultMode", INT32),
    ],
);

pub static VOLUME_PROJECTION: Message = message(
    "VolumeProjection",
    &[
        field(1, "secret", msg(&SECRET_PROJECTION)),
        field(2, "downwardAPI", msg(&DOWNWARD_API_PROJECTION)),
        field(3, "configMap", msg(&CONFIG_MAP_PROJECTION)),
        field(
            4,
            "serviceAccountToken",
            msg(&SERVICE_ACCOUNT_TOKEN_PROJECTION),
        ),
        field(
            5,
            "clusterTrustBundle",
            msg(&CLUSTER_TRUST_BUNDLE_PROJECTION),
        ),
        field(6, "podCertificate", msg(&POD_CERTIFICATE_PROJECTION)),
    ],
);

pub static SECRET_PROJECTION: Message = message(
    "SecretProjection",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        list(2, "items", msg(&KEY_TO_PATH)),
        keep(4, "optional", BOOL),
    ],
);

pub static DOWNWARD_API_PROJECTION: Message = message(
    "DownwardAPIProjection",
    &[list(1, "items", msg(&DOWNWARD_API_VOLUME_FILE))],
);

pub static CONFIG_MAP_PROJECTION: Message = message(
    "ConfigMapProjection",
    &[
        inline(1, msg(&LOCAL_OBJECT_REFERENCE)),
        list(2, "items", msg(&KEY_TO_PATH)),
        keep(4, "optional", BOOL),
    ],
);

pub static SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = message(
    "ServiceAccountTokenProjection",
    &[
        field(1, "audience", STRING),
        keep(2, "expirationSeconds", INT64),
        field(3, "path", STRING),
    ],
);

pub static CLUSTER_TRUST_BUNDLE_PROJECTION: Message = message(
    "ClusterTrustBundleProjection",
    &[
        keep(1, "name", STRING),
        keep(2, "signerName", STRING),
        field(3, "labelSelector", msg(&meta::LABEL_SELECTOR)),
        field(4, "path", STRING),
        keep(5, "optional", BOOL),
    ],
);

pub static POD_CERTIFICATE_PROJECTION: Message = message(
    "PodCertificateProjection",
    &[
        field(1, "signerName", STRING),
        field(2, "keyType", STRING),
        keep(3, "maxExpirationSeconds", INT32),
        field(4, "credentialBundlePath", STRING),
        field(5, "keyPath", STRING),
        field(6, "certificateChainPath", STRING),
    ],
);

pub static PORTWORX_VOLUME_SOURCE: Message = message(
    "PortworxVolumeSource",
    &[
        field(1, "volumeID", STRING),
        field(2, "fsType", STRING),
        field(3, "readOnly", BOOL),
    ],
);

pub static SCALE_IO_VOLUME_SOURCE: Message = message(
    "ScaleIOVolumeSource",
    &[
        field(1, "gateway", STRING),
        field(2, "system", STRING),
        field(3, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
        field(4, "sslEnabled", BOOL),
        field(5, "protectionDomain", STRING),
        field(6, "storagePool", STRING),
        field(7, "storageMode", STRING),
        field(8, "volumeName", STRING),
        field(9, "fsType", STRING),
        field(10, "readOnly", BOOL),
    ],
);

pub static STORAGE_OS_VOLUME_SOURCE: Message = message(
    "StorageOSVolumeSource",
    &[
        field(1, "volumeName", STRING),
        field(2, "volumeNamespace", STRING),
        field(3, "fsType", STRING),
        field(4, "readOnly", BOOL),
        field(5, "secretRef", msg(&LOCAL_OBJECT_REFERENCE)),
    ],
);

pub static CSI_VOLUME_SOURCE: Message = message(
    "CSIVolumeSource",
    &[
        field(1, "driver", STRING),
        keep(2, "readOnly", BOOL),
        keep(3, "fsType", STRING),
        map(4, "volumeAttributes", STRING),
        field(5, "nodePublishSecretRef", msg(&LOCAL_OBJECT_REFERENCE)),
    ],
);

pub static EPHEMERAL_VOLUME_SOURCE: Message = message(
    "EphemeralVolumeSource",
    &[field(
        1,
        "volumeClaimTemplate",
        msg(&PERSISTENT_VOLUME_CLAIM_TEMPLATE),
    )],
);

pub static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = message(
    "PersistentVolumeClaimTemplate",
    &[
        field(1, "metadata", msg(&meta::OBJECT_META)),
        field(2, "spec", msg(&PERSISTENT_VOLUME_CLAIM_SPEC)),
    ],
);

pub static PERSISTENT_VOLUME_CLAIM_SPEC: Message = message(
    "PersistentVolumeClaimSpec",
    &[
        list(1, "accessModes", STRING),
        field(2, "resources", msg(&VOLUME_RESOURCE_REQUIREMENTS)),
        field(3, "volumeName", STRING),
        field(4, "selector", msg(&meta::LABEL_SELECTOR)),
        keep(5, "storageClassName", STRING),
        keep(6, "volumeMode", STRING),
        field(7, "dataSource", msg(&TYPED_LOCAL_OBJECT_REFERENCE)),
        field(8, "dataSourceRef", msg(&TYPED_OBJECT_REFERENCE)),
        keep(9, "volumeAttributesClassName", STRING),
    ],
);

pub static VOLUME_RESOURCE_REQUIREMENTS: Message = message(
    "VolumeResourceRequirements",
    &[map(1, "limits", QUANTITY), map(2, "requests", QUANTITY)],
);

pub static TYPED_LOCAL_OBJECT_REFERENCE: Message = message(
    "TypedLocalObjectReference",
    &[
        field(1, "apiGroup", STRING),
        field(2, "kind", STRING),
        field(3, "name", STRING),
    ],
);

pub static TYPED_OBJECT_REFERENCE: Message = message(
    "TypedObjectReference",
    &[
        field(1, "apiGroup", STRING),
        field(2, "kind", STRING),
        field(3, "name", STRING),
        field(4, "namespace", STRING),
    ],
);

pub static IMAGE_VOLUME_SOURCE: Message = message(
    "ImageVolumeSource",
    &[
        field(1, "reference", STRING),
        field(2, "pullPolicy", STRING),
    ],
);
