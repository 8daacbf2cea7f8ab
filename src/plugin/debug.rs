//! Debug mode (`-debug`), the terraform-plugin-go convention: the provider runs on its own (in
//! a debugger, or with logs on a terminal), without the cookie and without TLS, stays up across
//! Terraform commands, and prints the `TF_REATTACH_PROVIDERS` value that points Terraform at it.
//! Ctrl-C stops it.

use serde_json::json;

use super::handshake::{Address, PROTOCOL_VERSION};

/// What `-debug` prints on stdout: how to attach, then the variable itself, e.g.
/// `TF_REATTACH_PROVIDERS='{"registry.terraform.io/example/csms":{…,"Test":true,…}}'`.
/// `"Test": true` is required: Terraform 1.15 panics on a v6 reattach without it.
pub fn reattach_banner(provider_address: &str, address: &Address) -> String {
    format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment \
         variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{}'\n\n",
        reattach_config(provider_address, address, std::process::id())
    )
}

fn reattach_config(provider_address: &str, address: &Address, pid: u32) -> serde_json::Value {
    json!({
        provider_address: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": address.network, "String": address.address },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_config_names_the_socket_and_is_a_test_provider() {
        let address = Address {
            network: "unix",
            address: "/tmp/plugin9/plugin.sock".into(),
        };
        let config = reattach_config("registry.terraform.io/example/csms", &address, 42);
        assert_eq!(
            config,
            json!({"registry.terraform.io/example/csms": {
                "Protocol": "grpc", "ProtocolVersion": 6, "Pid": 42, "Test": true,
                "Addr": {"Network": "unix", "String": "/tmp/plugin9/plugin.sock"}}})
        );
        let banner = reattach_banner("registry.terraform.io/example/csms", &address);
        let line = banner
            .lines()
            .find_map(|l| l.trim().strip_prefix("TF_REATTACH_PROVIDERS='"))
            .unwrap();
        let parsed: serde_json::Value =
            serde_json::from_str(line.strip_suffix('\'').unwrap()).unwrap();
        assert_eq!(parsed["registry.terraform.io/example/csms"]["Test"], true);
    }
}
