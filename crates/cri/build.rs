//! Compiles oxkube's CRI v1 description (`proto/cri/v1/api.proto`) into
//! Rust message types and tonic clients (the kubelet is a CRI client only).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let file = root.join("cri/v1/api.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    tonic_prost_build::configure()
        .build_server(false)
        .compile_protos(&[file], &[root])?;
    Ok(())
}
