//! The `provider "csms"` block as one table of arguments: each argument's name, type, environment
//! variable, sensitivity, check and description are stated once, in [`ARGUMENTS`], and the schema,
//! validation, resolution (configuration wins over environment) and the Registry docs' environment
//! table are all derived from it. Every argument is optional in HCL because an environment
//! variable can fill it (the same names the widely used Huawei Cloud Go provider reads).

use std::collections::HashMap;

use crate::csms::ClientConfig;
use crate::plugin::diag::has_error;
use crate::plugin::{Attr, AttrType, Attribute, Diagnostic, Schema, Type, Usage, Value};

/// One provider argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argument {
    pub name: &'static str,
    /// The environment variable that fills the argument when the block leaves it unset.
    pub env: &'static str,
    pub check: Check,
    /// Never logged, and marked sensitive in the schema.
    pub sensitive: bool,
    /// Markdown, ending with the sentence that names the environment variable.
    pub description: &'static str,
}

/// How an argument's value is read and checked; the schema type follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A non-empty string without control characters.
    Text,
    /// A region name such as `cn-north-4`.
    Region,
    /// An `http://` or `https://` base URL.
    BaseUrl,
    /// A bool; from the environment `true`/`false`, `1`/`0`, `yes`/`no`.
    Flag,
    /// A retry count, 0 to [`MAX_RETRIES_LIMIT`].
    Retries,
}

impl Check {
    fn ty(self) -> Type {
        match self {
            Check::Text | Check::Region | Check::BaseUrl => Type::String,
            Check::Flag => Type::Bool,
            Check::Retries => Type::Number,
        }
    }
}

/// States each argument once: a constant per argument (for the code that uses it) and
/// [`ARGUMENTS`], in schema order, for everything derived.
macro_rules! arguments {
    ($($id:ident = $name:literal, $check:ident, $env:literal, sensitive: $sensitive:literal, $description:literal;)*) => {
        $(
            pub const $id: Argument = Argument {
                name: $name,
                env: $env,
                check: Check::$check,
                sensitive: $sensitive,
                description: concat!($description, " Environment variable: `", $env, "`."),
            };
        )*
        /// Every provider argument, in schema and documentation order.
        pub const ARGUMENTS: &[Argument] = &[$($id),*];
    };
}

arguments! {
    REGION = "region", Region, "HW_REGION_NAME", sensitive: false,
        "Region of the CSMS service, e.g. `cn-north-4`. Picks the endpoint and the project.";
    PROJECT_ID = "project_id", Text, "HW_PROJECT_ID", sensitive: false,
        "Project ID. When absent it is looked up by region through IAM (`GET /v3/projects?name={region}`).";
    ACCESS_KEY = "access_key", Text, "HW_ACCESS_KEY", sensitive: false,
        "Access key (AK).";
    SECRET_KEY = "secret_key", Text, "HW_SECRET_KEY", sensitive: true,
        "Secret key (SK). Never logged.";
    SECURITY_TOKEN = "security_token", Text, "HW_SECURITY_TOKEN", sensitive: true,
        "Security token of temporary AK/SK credentials, sent as `X-Security-Token`. Never logged.";
    ENDPOINT = "endpoint", BaseUrl, "HW_CSMS_ENDPOINT", sensitive: false,
        "Full base URL of the CSMS API, default `https://kms.{region}.{cloud}`. Point it at the \
         `csms-emulator` for offline tests.";
    CLOUD = "cloud", Text, "HW_CLOUD", sensitive: false,
        "Cloud domain used to build default endpoints, default `myhuaweicloud.com`.";
    IAM_ENDPOINT = "iam_endpoint", BaseUrl, "HW_IAM_ENDPOINT", sensitive: false,
        "Base URL of IAM for the project lookup, default `https://iam.{region}.{cloud}`.";
    INSECURE = "insecure", Flag, "HW_INSECURE", sensitive: false,
        "Skip TLS certificate verification (a warning is shown).";
    MAX_RETRIES = "max_retries", Retries, "HW_MAX_RETRIES", sensitive: false,
        "Retries of a request that failed with 500, 502, 503, 504, a 429 without `Retry-After`, a \
         connection error or no response, with exponential backoff and jitter; 0 to 20, default 5. \
         A 429 with `Retry-After` is waited out (plus jitter) within the read's `timeouts.read`, up \
         to 50 times, without counting here.";
}

/// Retries beyond this only prolong a plan that is failing anyway.
const MAX_RETRIES_LIMIT: f64 = 20.0;

pub fn schema() -> Schema {
    Schema {
        version: 0,
        description: "The `csms` provider reads the secret rotation tasks of Huawei Cloud's Cloud Secret \
            Management Service (CSMS). Every argument is optional: environment variables fill the gaps and \
            the provider block wins over them.",
        attributes: ARGUMENTS
            .iter()
            .map(|a| Attribute {
                sensitive: a.sensitive,
                ..Attribute::new(a.name, AttrType::Plain(a.check.ty()), Usage::Optional, a.description)
            })
            .collect(),
    }
}

/// Where a setting came from, so that a problem with it can say where to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Block,
    Environment(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
enum Setting {
    Text(String),
    Flag(bool),
    Count(u32),
}

/// The arguments that are set, in the block or the environment, each checked.
#[derive(Debug, Default)]
pub struct Settings {
    values: HashMap<&'static str, (Setting, Origin)>,
    /// Arguments given with a value that failed its check: not missing, but not usable either.
    invalid: Vec<&'static str>,
}

impl Settings {
    /// Reads every argument of [`ARGUMENTS`]: from the block, else from its environment
    /// variable. Unknown values are left out (their checks skipped); problems become
    /// diagnostics on the argument, naming the variable when the value came from there.
    pub fn read(
        config: &Value,
        env: &dyn Fn(&str) -> Option<String>,
        diags: &mut Vec<Diagnostic>,
    ) -> Settings {
        let mut settings = Settings::default();
        for argument in ARGUMENTS {
            match read_one(config, argument, env) {
                Ok(Some(value)) => {
                    settings.values.insert(argument.name, value);
                }
                Ok(None) => {}
                Err(why) => {
                    settings.invalid.push(argument.name);
                    diags.push(invalid(argument.name, why));
                }
            }
        }
        settings
    }

    /// Whether the argument was given at all, valid or not: a missing-argument error would
    /// only repeat the invalid-value one.
    pub fn given(&self, argument: &Argument) -> bool {
        self.values.contains_key(argument.name) || self.invalid.contains(&argument.name)
    }

    pub fn text(&self, argument: &Argument) -> Option<String> {
        match self.values.get(argument.name) {
            Some((Setting::Text(s), _)) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn flag(&self, argument: &Argument) -> Option<bool> {
        match self.values.get(argument.name) {
            Some((Setting::Flag(b), _)) => Some(*b),
            _ => None,
        }
    }

    pub fn count(&self, argument: &Argument) -> Option<u32> {
        match self.values.get(argument.name) {
            Some((Setting::Count(n), _)) => Some(*n),
            _ => None,
        }
    }

    pub fn origin(&self, argument: &Argument) -> Option<Origin> {
        self.values.get(argument.name).map(|(_, origin)| *origin)
    }
}

/// One argument, checked: `Ok(None)` when unset or unknown.
fn read_one(
    config: &Value,
    argument: &Argument,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(Setting, Origin)>, String> {
    let name = argument.name;
    let from_block = match argument.check.ty() {
        Type::Bool => config.bool_attr(name).map(|a| map_attr(a, Setting::Flag)),
        Type::Number => config.number_attr(name).map(|a| match a {
            Attr::Set(n) => check_max_retries(n).map(|()| Attr::Set(Setting::Count(n as u32))),
            Attr::Null => Ok(Attr::Null),
            Attr::Unknown => Ok(Attr::Unknown),
        }),
        _ => config.string_attr(name).map(|a| match a {
            Attr::Set(s) => check_text(argument, &s).map(|()| Attr::Set(Setting::Text(s))),
            Attr::Null => Ok(Attr::Null),
            Attr::Unknown => Ok(Attr::Unknown),
        }),
    }
    .map_err(|e| e.to_string())?;
    match from_block? {
        Attr::Set(value) => Ok(Some((value, Origin::Block))),
        Attr::Unknown => Ok(None),
        Attr::Null => {
            let Some(raw) = env(argument.env).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            let var = argument.env;
            let quoted = |why: String| {
                format!("{why} (The value {raw:?} comes from the {var} environment variable.)")
            };
            let value = match argument.check {
                Check::Flag => parse_flag(&raw).map(Setting::Flag).map_err(quoted)?,
                Check::Retries => raw
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| {
                        format!("max_retries must be a whole number from 0 to {MAX_RETRIES_LIMIT}.")
                    })
                    .and_then(|n| check_max_retries(n).map(|()| Setting::Count(n as u32)))
                    .map_err(quoted)?,
                _ => {
                    check_text(argument, &raw).map_err(|why| {
                        format!("{why} (The value comes from the {var} environment variable.)")
                    })?;
                    Setting::Text(raw)
                }
            };
            Ok(Some((value, Origin::Environment(var))))
        }
    }
}

fn map_attr<T>(attr: Attr<T>, f: impl FnOnce(T) -> Setting) -> Result<Attr<Setting>, String> {
    Ok(match attr {
        Attr::Set(v) => Attr::Set(f(v)),
        Attr::Null => Attr::Null,
        Attr::Unknown => Attr::Unknown,
    })
}

/// Checks what can be checked from the configuration alone. Unknown values skip their checks;
/// missing values are not errors yet, because the environment may supply them at configure time.
pub fn validate(config: &Value) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    Settings::read(config, &|_: &str| None, &mut diags);
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
    let settings = Settings::read(config, &env, &mut diags);
    let given = |argument: &Argument| settings.given(argument);
    if !given(&REGION) && !given(&ENDPOINT) {
        diags.push(missing(
            &REGION,
            "the region, e.g. `cn-north-4`, or `endpoint` with the full URL of the API",
        ));
    }
    if !given(&REGION) && !given(&PROJECT_ID) {
        diags.push(missing(
            &PROJECT_ID,
            "the project ID (it can only be looked up when `region` is set)",
        ));
    }
    if !given(&ACCESS_KEY) {
        diags.push(missing(&ACCESS_KEY, "the access key (AK)"));
    }
    if !given(&SECRET_KEY) {
        diags.push(missing(&SECRET_KEY, "the secret key (SK)"));
    }
    let insecure = settings.flag(&INSECURE).unwrap_or(false);
    if insecure {
        diags.push(
            Diagnostic::warning(
                "TLS verification is off",
                "`insecure = true` (or HW_INSECURE) skips the verification of the service's certificate, so \
                 anyone on the network path could read the task list and impersonate the service. Use it only \
                 against a local emulator or a test endpoint.",
            )
            .at(INSECURE.name),
        );
    }
    if has_error(&diags) {
        return Err(diags);
    }
    let defaults = ClientConfig::default();
    let cfg = ClientConfig {
        region: settings.text(&REGION),
        project_id: settings.text(&PROJECT_ID),
        access_key: settings.text(&ACCESS_KEY).unwrap_or_default(),
        secret_key: settings.text(&SECRET_KEY).unwrap_or_default(),
        security_token: settings.text(&SECURITY_TOKEN),
        endpoint: settings.text(&ENDPOINT),
        cloud: settings.text(&CLOUD).unwrap_or(defaults.cloud.clone()),
        iam_endpoint: settings.text(&IAM_ENDPOINT),
        insecure,
        max_retries: settings.count(&MAX_RETRIES).unwrap_or(defaults.max_retries),
        user_agent,
        ..defaults
    };
    Ok((cfg, diags))
}

fn check_text(argument: &Argument, value: &str) -> Result<(), String> {
    match argument.check {
        Check::BaseUrl => check_url(value),
        Check::Region => check_region(value),
        _ if value.is_empty() || value.chars().any(char::is_control) => Err(format!(
            "`{}` must be a non-empty string without control characters.",
            argument.name
        )),
        _ => Ok(()),
    }
}

/// An environment bool. Anything else is an error: `HW_INSECURE=maybe` must not quietly mean
/// false (or true).
fn parse_flag(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err("insecure must be true or false (also accepted: 1/0, yes/no).".to_string()),
    }
}

fn invalid(attr: &str, detail: impl Into<String>) -> Diagnostic {
    Diagnostic::error(format!("Invalid {attr}"), detail).at(attr)
}

fn missing(argument: &Argument, what: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Missing {}", argument.name),
        format!(
            "The csms provider needs {what}. Set `{}` in the provider block or the {} environment variable.",
            argument.name, argument.env
        ),
    )
    .at(argument.name)
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
