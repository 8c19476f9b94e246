//! Compiles the OpenAPI v2 protobuf model (`proto/openapiv2.proto`) that
//! `/openapi/v2` is encoded with (see `src/openapi/v2.rs`). Needs `protoc`
//! (Debian: `protobuf-compiler`; `e2e/test.sh` installs it).

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=proto/openapiv2.proto");
    prost_build::Config::new().compile_protos(&["proto/openapiv2.proto"], &["proto"])
}
