//! The hand-written JSON reader against serde_json: the same documents are accepted, and what
//! the reader keeps, written back out, is the same JSON value. Never a panic either way.
#![no_main]

use azure_workload_identity::fuzzing::parse_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = parse_json(data);
    let theirs = serde_json::from_slice::<serde_json::Value>(data);
    match (&ours, &theirs) {
        (Ok(value), Ok(expected)) => {
            let written = value.to_string();
            let reread: serde_json::Value =
                serde_json::from_str(&written).expect("what is written is JSON");
            assert_eq!(&reread, expected, "{written}");
        }
        (Err(_), Err(_)) => {}
        // The nesting limits differ by how each counts.
        (Ok(_), Err(error)) if error.to_string().contains("recursion limit") => {}
        (Err(error), Ok(_)) if error.problem == "nested too deeply" => {}
        _ => panic!("disagreement: ours {ours:?}, serde_json {theirs:?}"),
    }
});
