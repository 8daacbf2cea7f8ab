//! The `provider "csms"` block: its schema, its checks, and how it becomes a
//! [`ClientConfig`]. Every argument is optional in HCL because an environment variable can fill
//! it (the same names the widely used Huawei Cloud Go provider reads); configuration wins.

use crate::csms::ClientConfig;
use crate::plugin::diag::has_error;
use crate::plugin::{Attr, AttrType, Attribute, Diagnostic, Schema, Type, Usage, Value};

/// Where each argument may come from: `(attribute, environment variable)`.
pub const REGION: (&str, &str) = ("region", "HW_REGION_NAME");
pub const PROJECT_ID: (&str, &str) = ("project_id", "HW_PROJECT_ID");
pub const ACCESS_KEY: (&str, &str) = ("access_key", "HW_ACCESS_KEY");
pub const SECRET_KEY: (&str, &str) = ("secret_key", "HW_SECRET_KEY");
pub const SECURITY_TOKEN: (&str, &str) = ("security_token", "HW_SECURITY_TOKEN");
pub const ENDPOINT: (&str, &str) = ("endpoint", "HW_CSMS_ENDPOINT");
pub const CLOUD: (&str, &str) = ("cloud", "HW_CLOUD");
pub const IAM_ENDPOINT: (&str, &str) = ("iam_endpoint", "HW_IAM_ENDPOINT");
pub const INSECURE: (&str, &str) = ("insecure", "HW_INSECURE");
pub const MAX_RETRIES: (&str, &str) = ("max_retries", "HW_MAX_RETRIES");

/// Retries beyond this only prolong a plan that is failing anyway.
const MAX_RETRIES_LIMIT: f64 = 20.0;

pub fn schema() -> Schema {
    let string = |name, description| {
        Attribute::new(
            name,
            AttrType::Plain(Type::String),
            Usage::Optional,
            description,
        )
    };
    Schema {
        version: 0,
        description: "The `csms` provider reads the secret rotation tasks of Huawei Cloud's Cloud Secret \
            Management Service (CSMS). Every argument is optional: environment variables fill the gaps and \
            the provider block wins over them.",
        attributes: vec![
            string(
                REGION.0,
                "Region of the CSMS service, e.g. `cn-north-4`. Picks the endpoint and the project. \
                 Environment variable: `HW_REGION_NAME`.",
            ),
            string(
                PROJECT_ID.0,
                "Project ID. When absent it is looked up by region through IAM (`GET /v3/projects?name={region}`). \
                 Environment variable: `HW_PROJECT_ID`.",
            ),
            string(ACCESS_KEY.0, "Access key (AK). Environment variable: `HW_ACCESS_KEY`."),
            string(SECRET_KEY.0, "Secret key (SK). Never logged. Environment variable: `HW_SECRET_KEY`.").sensitive(),
            string(
                SECURITY_TOKEN.0,
                "Security token of temporary AK/SK credentials, sent as `X-Security-Token`. Never logged. \
                 Environment variable: `HW_SECURITY_TOKEN`.",
            )
            .sensitive(),
            string(
                ENDPOINT.0,
                "Full base URL of the CSMS API, default `https://kms.{region}.{cloud}`. Point it at the \
                 `csms-emulator` for offline tests. Environment variable: `HW_CSMS_ENDPOINT`.",
            ),
            string(CLOUD.0, "Cloud domain used to build default endpoints, default `myhuaweicloud.com`. Environment variable: `HW_CLOUD`."),
            string(
                IAM_ENDPOINT.0,
                "Base URL of IAM for the project lookup, default `https://iam.{region}.{cloud}`. \
                 Environment variable: `HW_IAM_ENDPOINT`.",
            ),
            Attribute::new(
                INSECURE.0,
                AttrType::Plain(Type::Bool),
                Usage::Optional,
                "Skip TLS certificate verification (a warning is shown). Environment variable: `HW_INSECURE`.",
            ),
            Attribute::new(
                MAX_RETRIES.0,
                AttrType::Plain(Type::Number),
                Usage::Optional,
                "Retries of a request that failed with 429, 500, 502, 503, 504 or a connection error, \
                 with exponential backoff and jitter; 0 to 20, default 5. Environment variable: `HW_MAX_RETRIES`.",
            ),
        ],
    }
}

/// The string arguments, each with its check.
const STRINGS: [(&str, &str); 8] = [
    REGION,
    PROJECT_ID,
    ACCESS_KEY,
    SECRET_KEY,
    SECURITY_TOKEN,
    ENDPOINT,
    CLOUD,
    IAM_ENDPOINT,
];

/// Checks what can be checked from the configuration alone. Unknown values skip their checks;
/// missing values are not errors yet, because the environment may supply them at configure time.
pub fn validate(config: &Value) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for setting in STRINGS {
        lookup(config, setting, &|_: &str| None, &mut diags);
    }
    max_retries(config, &|_: &str| None, &mut diags);
    diags
}

/// The client configuration from the provider block and the environment (`env` is injected so
/// tests need not touch the process environment). Errors point at the attribute to set and name
/// the environment variable that could set it instead.
pub fn resolve(
    config: &Value,
    env: impl Fn(&str) -> Option<String>,
    user_agent: String,
) -> Result<(ClientConfig, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    if config.contains_unknown() {
        diags.push(Diagnostic::error(
            "Provider configuration not known",
            "The csms provider block refers to values that are only known after apply. Use literal values, \
             variables or environment variables for the provider arguments.",
        ));
    }
    let [region, project_id, access_key, secret_key, security_token, endpoint, cloud, iam_endpoint] =
        STRINGS.map(|setting| lookup(config, setting, &env, &mut diags));
    if region.is_none() && endpoint.is_none() {
        diags.push(missing(
            REGION,
            "the region, e.g. `cn-north-4`, or `endpoint` with the full URL of the API",
        ));
    }
    if region.is_none() && project_id.is_none() {
        diags.push(missing(
            PROJECT_ID,
            "the project ID (it can only be looked up when `region` is set)",
        ));
    }
    if access_key.is_none() {
        diags.push(missing(ACCESS_KEY, "the access key (AK)"));
    }
    if secret_key.is_none() {
        diags.push(missing(SECRET_KEY, "the secret key (SK)"));
    }
    let defaults = ClientConfig::default();
    let insecure = match config.bool_attr(INSECURE.0) {
        Ok(Attr::Set(b)) => b,
        _ => env(INSECURE.1).is_some_and(|v| {
            matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
        }),
    };
    if insecure {
        diags.push(
            Diagnostic::warning(
                "TLS verification is off",
                "`insecure = true` (or HW_INSECURE) skips the verification of the service's certificate, so \
                 anyone on the network path could read the task list and impersonate the service. Use it only \
                 against a local emulator or a test endpoint.",
            )
            .at(INSECURE.0),
        );
    }
    let max_retries = max_retries(config, &env, &mut diags).unwrap_or(defaults.max_retries);
    if has_error(&diags) {
        return Err(diags);
    }
    let cfg = ClientConfig {
        region,
        project_id,
        access_key: access_key.unwrap_or_default(),
        secret_key: secret_key.unwrap_or_default(),
        security_token,
        endpoint,
        cloud: cloud.unwrap_or(defaults.cloud.clone()),
        iam_endpoint,
        insecure,
        max_retries,
        user_agent,
        ..defaults
    };
    Ok((cfg, diags))
}

/// A string argument from the block, else from its environment variable, checked either way; a
/// problem with an environment value names the variable, since there is no line to point at.
fn lookup(
    config: &Value,
    (attr, var): (&str, &str),
    env: &impl Fn(&str) -> Option<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let (value, source) = match config.string_attr(attr) {
        Ok(Attr::Set(v)) => (v, None),
        Ok(Attr::Unknown) => return None,
        Ok(Attr::Null) => (env(var).filter(|v| !v.is_empty())?, Some(var)),
        Err(e) => {
            diags.push(invalid(attr, e.to_string()));
            return None;
        }
    };
    let check = match attr {
        "endpoint" | "iam_endpoint" => check_url(&value),
        "region" => check_region(&value),
        _ if value.is_empty() || value.chars().any(char::is_control) => Err(format!(
            "`{attr}` must be a non-empty string without control characters."
        )),
        _ => Ok(()),
    };
    if let Err(why) = check {
        diags.push(match source {
            Some(var) => invalid(
                attr,
                format!("{why} (The value comes from the {var} environment variable.)"),
            ),
            None => invalid(attr, why),
        });
    }
    Some(value)
}

/// `max_retries` from the block or `HW_MAX_RETRIES`, checked.
fn max_retries(
    config: &Value,
    env: &impl Fn(&str) -> Option<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<u32> {
    let (attr, var) = MAX_RETRIES;
    let checked = match config.number_attr(attr) {
        Ok(Attr::Set(n)) => check_max_retries(n).map(|_| n),
        Ok(Attr::Unknown) => return None,
        Ok(Attr::Null) => {
            let raw = env(var).filter(|v| !v.trim().is_empty())?;
            raw.trim()
                .parse::<f64>()
                .map_err(|_| {
                    format!("max_retries must be a whole number from 0 to {MAX_RETRIES_LIMIT}.")
                })
                .and_then(|n| check_max_retries(n).map(|_| n))
                .map_err(|why| {
                    format!("{why} (The value {raw:?} comes from the {var} environment variable.)")
                })
        }
        Err(e) => Err(e.to_string()),
    };
    match checked {
        Ok(n) => Some(n as u32),
        Err(why) => {
            diags.push(invalid(attr, why));
            None
        }
    }
}

fn invalid(attr: &str, detail: impl Into<String>) -> Diagnostic {
    Diagnostic::error(format!("Invalid {attr}"), detail).at(attr)
}

fn missing((attr, var): (&str, &str), what: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Missing {attr}"),
        format!("The csms provider needs {what}. Set `{attr}` in the provider block or the {var} environment variable."),
    )
    .at(attr)
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} is not an http:// or https:// URL."))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
        || url.contains(['?', '#'])
    {
        return Err(format!(
            "{url:?} is not a base URL: it needs a host, and no spaces, query or fragment."
        ));
    }
    Ok(())
}

fn check_region(region: &str) -> Result<(), String> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("{region:?} is not a region name; region names look like `cn-north-4` or `ap-southeast-1`."))
    }
}

fn check_max_retries(n: f64) -> Result<(), String> {
    if n.fract() == 0.0 && (0.0..=MAX_RETRIES_LIMIT).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "max_retries must be a whole number from 0 to {MAX_RETRIES_LIMIT}, got {n}."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::PathStep;

    fn config(pairs: &[(&str, Value)]) -> Value {
        schema().config(pairs)
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn paths(diags: &[Diagnostic]) -> Vec<String> {
        diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| match d.path.first() {
                Some(PathStep::Attribute(a)) => a.clone(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn configuration_wins_over_environment() {
        let env = |var: &str| {
            matches!(var, "HW_PROJECT_ID" | "HW_ACCESS_KEY").then(|| format!("env-{var}"))
        };
        let c = config(&[
            ("region", s("cn-north-4")),
            ("access_key", s("AK")),
            ("secret_key", s("SK")),
        ]);
        let (cfg, _) = resolve(&c, env, "ua".into()).unwrap();
        assert_eq!(cfg.region.as_deref(), Some("cn-north-4"));
        assert_eq!(cfg.access_key, "AK");
        assert_eq!(cfg.project_id.as_deref(), Some("env-HW_PROJECT_ID"));
    }

    #[test]
    fn environment_fills_every_gap() {
        let env = |var: &str| match var {
            "HW_REGION_NAME" => Some("ap-southeast-1".into()),
            "HW_ACCESS_KEY" => Some("AK".into()),
            "HW_SECRET_KEY" => Some("SK".into()),
            "HW_MAX_RETRIES" => Some("2".into()),
            "HW_INSECURE" => Some("true".into()),
            _ => None,
        };
        let (cfg, diags) = resolve(&config(&[]), env, "ua".into()).unwrap();
        assert_eq!(
            (cfg.region.as_deref(), cfg.max_retries, cfg.insecure),
            (Some("ap-southeast-1"), 2, true)
        );
        assert_eq!(diags.len(), 1, "insecure warns: {diags:?}");
        assert!(!diags[0].is_error());
    }

    #[test]
    fn missing_credentials_name_attribute_and_variable() {
        let diags =
            resolve(&config(&[("region", s("cn-north-4"))]), no_env, "ua".into()).unwrap_err();
        assert_eq!(paths(&diags), ["access_key", "secret_key"]);
        assert!(
            diags[0].detail.contains("HW_ACCESS_KEY"),
            "{}",
            diags[0].detail
        );
    }

    #[test]
    fn missing_region_and_endpoint() {
        let c = config(&[("access_key", s("AK")), ("secret_key", s("SK"))]);
        let diags = resolve(&c, no_env, "ua".into()).unwrap_err();
        assert_eq!(paths(&diags), ["region", "project_id"]);
        assert!(diags[0].detail.contains("HW_REGION_NAME"));
    }

    #[test]
    fn endpoint_and_project_id_stand_in_for_region() {
        let c = config(&[
            ("endpoint", s("http://127.0.0.1:8080")),
            ("project_id", s("p")),
            ("access_key", s("AK")),
            ("secret_key", s("SK")),
        ]);
        assert!(resolve(&c, no_env, "ua".into()).is_ok());
    }

    #[test]
    fn bad_values_point_at_their_attribute() {
        let c = config(&[
            ("endpoint", s("kms.example.com")),
            ("region", s("CN North")),
            ("max_retries", Value::Number(2.5)),
            ("access_key", s("")),
        ]);
        assert_eq!(
            paths(&validate(&c)),
            ["region", "access_key", "endpoint", "max_retries"]
        );
    }

    #[test]
    fn unknown_values_skip_checks_at_validate() {
        let c = config(&[
            ("endpoint", Value::Unknown),
            ("max_retries", Value::Unknown),
        ]);
        assert!(validate(&c).is_empty());
    }

    #[test]
    fn bad_max_retries_from_environment() {
        let env = |var: &str| (var == "HW_MAX_RETRIES").then(|| "lots".to_string());
        let c = config(&[
            ("region", s("cn-north-4")),
            ("access_key", s("AK")),
            ("secret_key", s("SK")),
        ]);
        let diags = resolve(&c, env, "ua".into()).unwrap_err();
        assert_eq!(paths(&diags), ["max_retries"]);
        assert!(diags[0].detail.contains("HW_MAX_RETRIES"));
    }
}
