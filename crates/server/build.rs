//! Records the compiler version for INFO's `go` field (nats-server puts its Go version
//! there; ours names the Rust toolchain).
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(|v| format!("rust{v}")))
        .unwrap_or_else(|| "rust".into());
    println!("cargo:rustc-env=NATS_RS_RUSTC={version}");
    println!("cargo:rerun-if-changed=build.rs");
}
