//! TEST ONLY, never shipped: a `wasi:http/outgoing-handler` composed in front of the Spin app
//! (`wac plug`) so that the real `wasmtime serve`, whose client trusts only public roots and has
//! no flag to add a CA, can be tested against loopback fakes. Each request for a host named in
//! [`REROUTE_VARIABLE`] leaves with that host's loopback address and the scheme `http`; every
//! other request is refused, so nothing leaves the machine.
//!
//! The credential inside still sees and checks its https authority: only the request, after the
//! credential made it, is rerouted.
//!
//! With the feature `wasi-p3`, its WASI 0.3 edition (wit-p3/reroute.wit): it exports and imports
//! `wasi:http/client@0.3.0`, for the WASI 0.3 sample proxy's composition.
//!
//! The table is plain Rust, unit-tested natively; `component` (WASI 0.2) and `component_p3` (WASI
//! 0.3) are the WASI layers, built only for wasm32.

// The table uses core and alloc only: the WASI 0.3 edition is std-free, so that it imports WASI
// 0.3 alone (std on wasm32-wasip2 brings wasi-libc's WASI 0.2 imports).
#![no_std]

extern crate alloc;
// The WASI 0.2 edition (the environment), the unit tests and native builds use std.
#[cfg(any(test, not(target_arch = "wasm32"), not(feature = "wasi-p3")))]
extern crate std;

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

#[cfg(all(target_arch = "wasm32", not(feature = "wasi-p3")))]
mod component;
#[cfg(all(target_arch = "wasm32", feature = "wasi-p3"))]
mod component_p3;

/// `host=127.0.0.1:port` pairs, comma-separated, e.g.
/// `login.microsoftonline.com=127.0.0.1:41001,myvault.vault.azure.net=127.0.0.1:41002`.
pub const REROUTE_VARIABLE: &str = "TEST_ONLY_HTTP_REROUTE";

/// Where each host's requests go instead.
#[derive(Debug, PartialEq, Eq)]
pub struct Reroutes(Vec<(String, String)>);

impl Reroutes {
    /// Reads [`REROUTE_VARIABLE`]'s value. Targets must be loopback addresses: this component
    /// exists to keep a test's traffic on the machine.
    pub fn parse(value: Option<&str>) -> Result<Reroutes, String> {
        let value = value.ok_or_else(|| format!("{REROUTE_VARIABLE} is not set"))?;
        let mut reroutes = Vec::new();
        for pair in value.split(',').filter(|pair| !pair.is_empty()) {
            let (host, target) = pair
                .split_once('=')
                .ok_or_else(|| format!("{REROUTE_VARIABLE}: '{pair}' is not host=address"))?;
            if !target.starts_with("127.0.0.1:") {
                return Err(format!(
                    "{REROUTE_VARIABLE}: '{target}' is not a 127.0.0.1 address"
                ));
            }
            reroutes.push((host.to_ascii_lowercase(), target.to_owned()));
        }
        Ok(Reroutes(reroutes))
    }

    /// The loopback address for a request to `authority` (`host` or `host:443`, the https
    /// default the apps leave out or name).
    pub fn target(&self, authority: &str) -> Option<&str> {
        let host = authority.strip_suffix(":443").unwrap_or(authority);
        self.0
            .iter()
            .find(|(named, _)| named.eq_ignore_ascii_case(host))
            .map(|(_, target)| target.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_host_goes_to_its_loopback_address_with_or_without_port_443() {
        let reroutes = Reroutes::parse(Some(
            "login.microsoftonline.com=127.0.0.1:41001,myvault.vault.azure.net=127.0.0.1:41002",
        ))
        .unwrap();
        assert_eq!(
            reroutes.target("login.microsoftonline.com"),
            Some("127.0.0.1:41001")
        );
        assert_eq!(
            reroutes.target("MyVault.vault.azure.net:443"),
            Some("127.0.0.1:41002")
        );
        assert_eq!(reroutes.target("myvault.vault.azure.net:8443"), None);
        assert_eq!(reroutes.target("management.azure.com"), None);
    }

    #[test]
    fn a_missing_variable_a_malformed_pair_or_a_target_off_loopback_is_refused() {
        assert_eq!(
            Reroutes::parse(None),
            Err("TEST_ONLY_HTTP_REROUTE is not set".into())
        );
        assert_eq!(
            Reroutes::parse(Some("login.microsoftonline.com")),
            Err("TEST_ONLY_HTTP_REROUTE: 'login.microsoftonline.com' is not host=address".into())
        );
        assert_eq!(
            Reroutes::parse(Some("login.microsoftonline.com=10.0.0.1:80")),
            Err("TEST_ONLY_HTTP_REROUTE: '10.0.0.1:80' is not a 127.0.0.1 address".into())
        );
    }
}
