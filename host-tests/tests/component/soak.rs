//! One instance under a long run of calls: memory stops growing after warm-up and every miss is
//! exactly one request.

use crate::*;

// The 0.3 edition takes twice as long: 92 s of CPU in a debug build against the 0.2 edition's
// 46 s, too much for every run of the suite on two cores.
for_each_edition!(
    wasi_0_3 ignored because "92 s of CPU in a debug build; run it with -- --ignored":
    a_million_hits_and_ten_thousand_misses_leave_memory_flat
);

const WASM_PAGE: usize = 64 * 1024;
const HITS: usize = 1_000_000;
const MISSES: usize = 10_000;
const WARM_UP_MISSES: usize = 1_000;

fn a_million_hits_and_ten_thousand_misses_leave_memory_flat(edition: Edition) {
    let mut pod = Pod::new(edition, &[]);
    let credential = pod.credential(&explicit_options());
    let miss = |pod: &mut Pod| {
        // Past the token's expiry: the same key misses and is replaced.
        pod.advance(3600);
        pod.get_token(credential, &[VAULT]).unwrap();
    };
    for _ in 0..WARM_UP_MISSES {
        miss(&mut pod);
    }
    let warm = pod.instance.linear_memory_bytes();
    for _ in WARM_UP_MISSES..MISSES {
        miss(&mut pod);
    }
    let expected = pod.fake.issued_token(MISSES);
    for _ in 0..HITS {
        let token = pod.get_token(credential, &[VAULT]).unwrap();
        assert_eq!(token.token, expected);
    }
    let after = pod.instance.linear_memory_bytes();
    println!(
        "linear memory: {} pages after {WARM_UP_MISSES} misses, {} pages after {MISSES} misses \
         and {HITS} hits",
        warm / WASM_PAGE,
        after / WASM_PAGE
    );
    assert_eq!(after, warm, "memory grew after warm-up");
    assert_eq!(pod.fake.requests().len(), MISSES);
}
