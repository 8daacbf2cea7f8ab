//! Regions: the provider's table of known regions is the official SDK's, a region outside it
//! warns at validate time with the region it is likely a typo of, and a host that DNS says does
//! not exist fails the read at once, pointing at `region`, `cloud` and `endpoint` instead of at
//! the project lookup.

use crate::common;

use std::collections::BTreeSet;

use common::terraform::{Workdir, AK, SK, TERRAFORM_BLOCK};
use csms_provider::csms::{regions, ClientConfig};

/// Proves the table is the SDK's: every region the official CSMS SDK knows, each with the
/// endpoint the provider derives from it, plus the Europe regions the IAM SDK lists under
/// `myhuaweicloud.eu` (whose CSMS lives there too); nothing else. The docs list them all.
#[tokio::test]
async fn known_regions_are_the_official_sdks() {
    let sdk = common::sdk::run_script(
        r#"
import json
from huaweicloudsdkcsms.v1.region.csms_region import CsmsRegion
from huaweicloudsdkiam.v3.region.iam_region import IamRegion
print(json.dumps({
    "csms": {k: r.endpoint for k, r in CsmsRegion.static_fields.items()},
    "iam": {k: r.endpoint for k, r in IamRegion.static_fields.items()},
}))
"#,
        &[],
    )
    .await;
    let csms = sdk["csms"].as_object().expect("CSMS regions");
    let europe = sdk["iam"]
        .as_object()
        .expect("IAM regions")
        .iter()
        .filter(|(_, endpoint)| endpoint.as_str().unwrap().ends_with(".myhuaweicloud.eu"))
        .map(|(name, _)| name.clone());
    let expected: BTreeSet<String> = csms.keys().cloned().chain(europe).collect();
    let known: BTreeSet<String> = regions::KNOWN.iter().map(|r| r.to_string()).collect();
    assert_eq!(known, expected, "the table against the SDKs");
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/index.md"),
    )
    .expect("docs/index.md");
    for region in regions::KNOWN {
        assert!(
            docs.contains(&format!("`{region}`")),
            "docs/index.md lacks {region}"
        );
    }
    for (name, endpoint) in csms {
        let derived = ClientConfig {
            region: Some(name.clone()),
            ..ClientConfig::default()
        }
        .csms_endpoint()
        .expect("an endpoint");
        assert_eq!(
            derived.as_str().trim_end_matches('/'),
            endpoint.as_str().unwrap(),
            "{name}"
        );
    }
}

/// Proves `terraform validate` warns on a region outside the table, on the attribute that set
/// it, naming the region meant: on the provider block and on a data source; a known region and
/// a provider block with its own endpoint draw no warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_region_warns_at_validate_with_the_nearest_known_one() {
    let config = format!(
        r#"{TERRAFORM_BLOCK}
provider "csms" {{
  region = "cn-nrth-4"
}}

provider "csms" {{
  alias    = "emulator"
  region   = "local"
  endpoint = "http://127.0.0.1:1"
}}

data "csms_rotation_tasks" "europe" {{
  region = "eu-west-10"
}}

data "csms_rotation_tasks" "known" {{
  region = "cn-north-4"
}}

data "csms_rotation_tasks" "emulated" {{
  provider = csms.emulator
}}
"#
    );
    // JSON: the human output folds similar warnings into "one more similar warning".
    let run = Workdir::new(&[("main.tf", &config)])
        .run(&["validate", "-json"])
        .await;
    run.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("validate -json");
    let mut warned: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["summary"] == "Unknown region")
        .map(|d| {
            assert_eq!(d["severity"], "warning", "{d}");
            (
                d["snippet"]["context"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    warned.sort();
    let expected = [
        (
            "data \"csms_rotation_tasks\" \"europe\"",
            "eu-west-10",
            "eu-west-101",
        ),
        ("provider \"csms\"", "cn-nrth-4", "cn-north-4"),
    ];
    assert_eq!(
        warned.len(),
        expected.len(),
        "one warning per unknown region: {report:#}"
    );
    for ((block, detail), (on, typo, meant)) in warned.iter().zip(expected) {
        assert_eq!(block, on);
        let wanted =
            format!("{typo:?} is not a region this provider knows. Did you mean {meant:?}?");
        assert!(detail.starts_with(&wanted), "{detail}");
    }
}

/// Proves a region whose hosts DNS says do not exist fails the plan after one try (no retries
/// of a name that will not appear) as `Unknown host`, pointing at `region`, `cloud` and
/// `endpoint`, not as a project lookup to skip with `project_id`. The region is a 64-letter
/// label: the resolver refuses such a name itself, so no DNS query leaves this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_does_not_exist_fails_at_once_and_names_the_region() {
    let region = format!("xx-{}", "a".repeat(61));
    let config = format!(
        r#"{TERRAFORM_BLOCK}
provider "csms" {{
  region     = "{region}"
  access_key = "{AK}"
  secret_key = "{SK}"
}}

data "csms_rotation_tasks" "all" {{}}
"#
    );
    let run = Workdir::new(&[("main.tf", &config)])
        .plan_with_debug_log()
        .await;
    run.assert_error(&[
        "Error: Unknown host",
        &format!("the host of https://iam.{region}.myhuaweicloud.com/"),
        "does not exist",
        "not retried",
        "check the region's spelling",
        "`cloud`",
        "`endpoint`",
    ]);
    let output = run.output();
    assert!(
        !output.contains("Cannot determine the project ID") && !output.contains("set `project_id`"),
        "{output}"
    );
    let tries = run
        .provider_log_lines()
        .into_iter()
        .filter(|l| l.contains("no answer") && l.contains(&format!("iam.{region}")))
        .count();
    assert_eq!(tries, 1, "one try, no retry:\n{output}");
    assert!(
        !output.contains("retrying after a transient failure"),
        "{output}"
    );
}
