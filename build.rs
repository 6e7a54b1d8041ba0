//! Link settings of the component (wasm32 only; native builds need none).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        // A 64 KiB stack instead of rustc's default 1 MiB, which would be most of an instance's
        // memory. The deepest recursion is the JSON reader's, bounded at 128 levels (a host test
        // sends that much nesting). The stack sits below the data, so an overflow traps; it
        // cannot overwrite the heap.
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
