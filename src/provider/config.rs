//! The `provider "csms"` block as one table of arguments: each argument's name, type, environment
//! variable, sensitivity, check and description are stated once, in [`ARGUMENTS`], and the schema,
//! validation, resolution (configuration wins over environment) and the Registry docs' environment
//! table are all derived from it. Every argument is optional in HCL because an environment
//! variable can fill it (the same names the widely used Huawei Cloud Go provider reads).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::csms::credentials::agency::DURATION_RANGE;
use crate::csms::credentials::{
    AgencyDomain, AgencySettings, ChainInputs, MetadataSettings, SharedFileSettings, StaticKeys,
};
use crate::csms::signer::SigningAlgorithm;
use crate::csms::{project_id_problem, regions, ClientConfig, RetryPolicy};
use crate::plugin::diag::has_error;
use crate::plugin::{
    Attr, AttrType, Attribute, BlockNesting, Diagnostic, Input, PathStep, Schema, Type, Usage,
    Value,
};

/// One provider argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argument {
    pub name: &'static str,
    /// The environment variable that fills the argument when the block leaves it unset; empty
    /// for a block, whose arguments have their own.
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
    /// A project ID: one segment of every request path.
    ProjectId,
    /// An `http://` or `https://` base URL.
    BaseUrl,
    /// A bool; from the environment `true`/`false`, `1`/`0`, `yes`/`no`.
    Flag,
    /// A retry count, 0 to [`MAX_RETRIES_LIMIT`].
    Retries,
    /// A [`SigningAlgorithm`] name; the ones the SDKs know and this provider does not sign
    /// with are refused with the signer's message.
    SigningAlgorithm,
    /// Seconds an assumed agency's keys live, within IAM's [`DURATION_RANGE`].
    AgencyDuration,
    /// A positive Go duration (`"30s"`, `"2m"`).
    Duration,
    /// A nested block (at most one) of these arguments, each filled from its own environment
    /// variable when the block, or the argument in it, is absent.
    Block(&'static [Argument]),
}

impl Check {
    /// The type of a plain argument's value; blocks are read by [`Settings::read_block`].
    fn ty(self) -> Type {
        match self {
            Check::Text
            | Check::Region
            | Check::ProjectId
            | Check::BaseUrl
            | Check::SigningAlgorithm
            | Check::Duration => Type::String,
            Check::Flag => Type::Bool,
            Check::Retries | Check::AgencyDuration => Type::Number,
            Check::Block(_) => unreachable!("a block has no plain type"),
        }
    }

    fn attr_type(self) -> AttrType {
        match self {
            Check::Block(arguments) => AttrType::Block(
                BlockNesting::List { max_items: 1 },
                arguments.iter().map(Argument::attribute).collect(),
            ),
            plain => AttrType::Plain(plain.ty()),
        }
    }
}

impl Argument {
    fn attribute(&self) -> Attribute {
        Attribute {
            sensitive: self.sensitive,
            ..Attribute::new(
                self.name,
                self.check.attr_type(),
                Usage::Optional,
                self.description,
            )
        }
    }

    /// The argument itself, or a block's arguments: what has a value and a variable.
    pub fn leaves(&'static self) -> &'static [Argument] {
        match self.check {
            Check::Block(arguments) => arguments,
            _ => std::slice::from_ref(self),
        }
    }

    /// `(path, variable)` of each of [`Argument::leaves`] (`assume_role.agency_name`), for the
    /// documentation's table.
    pub fn environment(&'static self) -> Vec<(String, &'static str)> {
        self.leaves()
            .iter()
            .map(|a| match self.check {
                Check::Block(_) => (format!("{}.{}", self.name, a.name), a.env),
                _ => (a.name.to_string(), a.env),
            })
            .collect()
    }
}

/// States each argument once: a constant per argument (for the code that uses it) and a table
/// of them (`ARGUMENTS`, or a block's), in schema order, for everything derived. A block has no
/// `env` of its own.
macro_rules! arguments {
    ($table:ident: $($id:ident = $name:literal, $check:ident $(($inner:ident))?, $(env: $env:literal,)? sensitive: $sensitive:literal, $description:literal;)*) => {
        $(
            pub const $id: Argument = Argument {
                name: $name,
                env: concat!("" $(, $env)?),
                check: Check::$check $(($inner))?,
                sensitive: $sensitive,
                description: concat!($description $(, " Environment variable: `", $env, "`.")?),
            };
        )*
        pub const $table: &[Argument] = &[$($id),*];
    };
}

arguments! { ARGUMENTS:
    REGION = "region", Region, env: "HW_REGION_NAME", sensitive: false,
        "Region of the CSMS service, e.g. `cn-north-4`. Picks the endpoint and the project.";
    PROJECT_ID = "project_id", ProjectId, env: "HW_PROJECT_ID", sensitive: false,
        "Project ID. When absent it is looked up by region through IAM (`GET /v3/projects?name={region}`).";
    ACCESS_KEY = "access_key", Text, env: "HW_ACCESS_KEY", sensitive: false,
        "Access key (AK).";
    SECRET_KEY = "secret_key", Text, env: "HW_SECRET_KEY", sensitive: true,
        "Secret key (SK). Never logged.";
    SECURITY_TOKEN = "security_token", Text, env: "HW_SECURITY_TOKEN", sensitive: true,
        "Security token of temporary AK/SK credentials, sent as `X-Security-Token`. Never logged.";
    ENDPOINT = "endpoint", BaseUrl, env: "HW_CSMS_ENDPOINT", sensitive: false,
        "Full base URL of the CSMS API, default `https://kms.{region}.{cloud}`. Point it at the \
         `csms-emulator` for offline tests.";
    CLOUD = "cloud", Text, env: "HW_CLOUD", sensitive: false,
        "Cloud domain used to build default endpoints: default `myhuaweicloud.eu` for the European \
         regions (`eu-west-1*`, e.g. `eu-west-101`), `myhuaweicloud.com` for every other region.";
    IAM_ENDPOINT = "iam_endpoint", BaseUrl, env: "HW_IAM_ENDPOINT", sensitive: false,
        "Base URL of IAM for the project lookup, default `https://iam.{region}.{cloud}`.";
    INSECURE = "insecure", Flag, env: "HW_INSECURE", sensitive: false,
        "Skip TLS certificate verification (a warning is shown).";
    MAX_RETRIES = "max_retries", Retries, env: "HW_MAX_RETRIES", sensitive: false,
        "Retries of a request that failed with 500, 502, 503, 504, a 429 without `Retry-After`, a \
         connection error or no response, with exponential backoff and jitter; 0 to 20, default 5. \
         A 429 with `Retry-After` is waited out (plus jitter) within the read's `timeouts.read`, up \
         to 50 times, without counting here; a wait longer than the read has left fails at once, and \
         `Retry-After: 0` or a date in the past is a retry like any other.";
    SHARED_CONFIG_FILE = "shared_config_file", Text, env: "HW_SHARED_CONFIG_FILE", sensitive: false,
        "Path of a KooCLI configuration file (`hcloud configure`) whose profile gives the keys when \
         neither the block nor `HW_ACCESS_KEY`/`HW_SECRET_KEY` does; default `~/.hcloud/config.json` \
         when `profile` is set. The file is read only when this or `profile` is set.";
    PROFILE = "profile", Text, env: "HW_PROFILE", sensitive: false,
        "Profile of the shared configuration file (modes `AKSK`, `SSO`, `ecsAgency`); default the \
         file's `current`. Its `region` and `projectId` fill what the block and environment leave \
         unset; its `agencyName` and `agencyDomainName` mean: assume that agency.";
    ASSUME_ROLE = "assume_role", Block(ASSUME_ROLE_ARGUMENTS), sensitive: false,
        "An IAM agency to assume with the keys found (block, environment, profile or ECS \
         metadata): the provider then reads the tasks of the account that owns the agency, and \
         looks its project up as that account. At most one block. The `HW_ASSUME_ROLE_*` \
         variables work without a block.";
    SIGNING_ALGORITHM = "signing_algorithm", SigningAlgorithm, env: "HW_SIGNING_ALGORITHM", sensitive: false,
        "How requests are signed: `HmacSHA256` (the default, `SDK-HMAC-SHA256`) or `HmacSM3` \
         (`SDK-HMAC-SM3`). `EcdsaP256SHA256` and `SM2SM3` are not supported.";
    CONFIGURE_TIMEOUT = "configure_timeout", Duration, env: "HW_CONFIGURE_TIMEOUT", sensitive: false,
        "Longest time finding the credentials may take (reading the shared configuration file, the \
         ECS metadata service, assuming the agency), as a Go duration such as `\"30s\"`; default \
         `\"1m\"`. Ctrl-C in Terraform ends it at once.";
}

arguments! { ASSUME_ROLE_ARGUMENTS:
    AGENCY_NAME = "agency_name", Text, env: "HW_ASSUME_ROLE_AGENCY_NAME", sensitive: false,
        "Name of the agency to assume.";
    DOMAIN_NAME = "domain_name", Text, env: "HW_ASSUME_ROLE_DOMAIN_NAME", sensitive: false,
        "Name of the account (domain) that owns the agency. Without it, `HW_ASSUME_ROLE_DOMAIN_ID` \
         names the account by ID.";
    DURATION_SECONDS = "duration_seconds", AgencyDuration, env: "HW_ASSUME_ROLE_DURATION", sensitive: false,
        "Lifetime of the agency's keys in seconds, 900 to 86400, default 3600; they are renewed \
         before they expire.";
}

/// Names an account by ID when `domain_name` is unset, as the Go provider reads it; not an
/// argument of the block.
const DOMAIN_ID_ENV: &str = "HW_ASSUME_ROLE_DOMAIN_ID";

/// Retries beyond this only prolong a plan that is failing anyway.
const MAX_RETRIES_LIMIT: f64 = 20.0;

pub fn schema() -> Schema {
    Schema {
        version: 0,
        description: "The `csms` provider reads the secret rotation tasks of Huawei Cloud's Cloud Secret \
            Management Service (CSMS). Every argument is optional: environment variables fill the gaps and \
            the provider block wins over them.",
        attributes: ARGUMENTS.iter().map(Argument::attribute).collect(),
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
    Algorithm(SigningAlgorithm),
    Duration(std::time::Duration),
}

/// The arguments that are set, in the block or the environment, each checked. Keyed by
/// environment variable, which names each argument (a block's included) uniquely.
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
        let schema = schema();
        let input = Input::new(&schema, config);
        for argument in ARGUMENTS {
            match argument.check {
                Check::Block(arguments) => {
                    settings.read_block(&input, argument.name, arguments, env, diags)
                }
                _ => settings.read_into(&input, argument, env, diags, |why| {
                    invalid(argument.name, why)
                }),
            }
        }
        settings
    }

    /// A block's arguments: from its one element when present, each else from its variable.
    /// An unknown block skips them all.
    fn read_block(
        &mut self,
        input: &Input<'_>,
        name: &'static str,
        arguments: &'static [Argument],
        env: &dyn Fn(&str) -> Option<String>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let block = match input.objects(name) {
            Ok(Attr::Unknown) => return,
            Ok(Attr::Set(items)) => items.into_iter().next(),
            Ok(Attr::Null) => None,
            Err(e) => {
                diags.push(e.diagnostic());
                return;
            }
        };
        let present = block.is_some();
        let attributes: Vec<Attribute> = arguments.iter().map(Argument::attribute).collect();
        let block = block.unwrap_or_else(|| Input::of(&attributes, &Value::Null));
        for argument in arguments {
            self.read_into(&block, argument, env, diags, |why| {
                let mut path = vec![PathStep::Attribute(name.to_string())];
                if present {
                    path.extend([
                        PathStep::Index(0),
                        PathStep::Attribute(argument.name.into()),
                    ]);
                }
                Diagnostic {
                    path,
                    ..invalid(argument.name, why)
                }
            });
        }
    }

    fn read_into(
        &mut self,
        config: &Input<'_>,
        argument: &Argument,
        env: &dyn Fn(&str) -> Option<String>,
        diags: &mut Vec<Diagnostic>,
        diagnostic: impl FnOnce(String) -> Diagnostic,
    ) {
        match read_one(config, argument, env) {
            Ok(Some(value)) => {
                self.values.insert(argument.env, value);
            }
            Ok(None) => {}
            Err(why) => {
                self.invalid.push(argument.env);
                diags.push(diagnostic(why));
            }
        }
    }

    /// Whether the argument was given at all, valid or not: a missing-argument error would
    /// only repeat the invalid-value one.
    pub fn given(&self, argument: &Argument) -> bool {
        self.values.contains_key(argument.env) || self.invalid.contains(&argument.env)
    }

    pub fn text(&self, argument: &Argument) -> Option<String> {
        match self.values.get(argument.env) {
            Some((Setting::Text(s), _)) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn flag(&self, argument: &Argument) -> Option<bool> {
        match self.values.get(argument.env) {
            Some((Setting::Flag(b), _)) => Some(*b),
            _ => None,
        }
    }

    pub fn count(&self, argument: &Argument) -> Option<u32> {
        match self.values.get(argument.env) {
            Some((Setting::Count(n), _)) => Some(*n),
            _ => None,
        }
    }

    pub fn algorithm(&self, argument: &Argument) -> Option<SigningAlgorithm> {
        match self.values.get(argument.env) {
            Some((Setting::Algorithm(a), _)) => Some(*a),
            _ => None,
        }
    }

    pub fn duration(&self, argument: &Argument) -> Option<std::time::Duration> {
        match self.values.get(argument.env) {
            Some((Setting::Duration(d), _)) => Some(*d),
            _ => None,
        }
    }

    pub fn origin(&self, argument: &Argument) -> Option<Origin> {
        self.values.get(argument.env).map(|(_, origin)| *origin)
    }
}

/// One argument, checked: `Ok(None)` when unset or unknown.
fn read_one(
    config: &Input<'_>,
    argument: &Argument,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(Setting, Origin)>, String> {
    let name = argument.name;
    let from_block = match argument.check.ty() {
        Type::Bool => config
            .bool(name)
            .map(|a| a.try_map(|b| Ok(Setting::Flag(b)))),
        Type::Number => config
            .number(name)
            .map(|a| a.try_map(|n| check_count(argument, n).map(Setting::Count))),
        _ => config
            .string(name)
            .map(|a| a.try_map(|s| check_string(argument, s))),
    }
    .map_err(|e| e.diagnostic().detail)?;
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
                Check::Flag => parse_flag(argument, &raw)
                    .map(Setting::Flag)
                    .map_err(quoted)?,
                Check::Retries | Check::AgencyDuration => raw
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| count_range(argument, None))
                    .and_then(|n| check_count(argument, n).map(Setting::Count))
                    .map_err(quoted)?,
                _ => check_string(argument, raw.clone()).map_err(|why| {
                    format!("{why} (The value comes from the {var} environment variable.)")
                })?,
            };
            Ok(Some((value, Origin::Environment(var))))
        }
    }
}

/// Checks what can be checked from the configuration alone. Unknown values skip their checks;
/// missing values are not errors yet, because the environment may supply them at configure time.
pub fn validate(config: &Value) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let settings = Settings::read(config, &|_: &str| None, &mut diags);
    // With an endpoint the region picks no CSMS host, so an unknown one is likely on purpose.
    if !settings.given(&ENDPOINT) {
        diags.extend(
            settings
                .text(&REGION)
                .and_then(|r| unknown_region(&r, REGION.name)),
        );
    }
    diags
}

/// The warning for a region that is not in [`regions::KNOWN`], on the attribute `attr`, with
/// the known region it is likely a typo of; `None` for a known region. A warning, not an error:
/// a region newer than this provider works.
pub fn unknown_region(region: &str, attr: &str) -> Option<Diagnostic> {
    if regions::is_known(region) {
        return None;
    }
    let guess = match regions::nearest(region) {
        Some(known) => format!(" Did you mean {known:?}?"),
        None => String::new(),
    };
    Some(
        Diagnostic::warning(
            "Unknown region",
            format!(
                "{region:?} is not a region this provider knows.{guess} Requests go to \
                 kms.{region}.{{cloud}} and iam.{region}.{{cloud}}, hosts that do not exist for a mistyped \
                 region. A region newer than this provider works: then ignore this warning. The known \
                 regions are listed in the provider's documentation."
            ),
        )
        .at(attr),
    )
}

/// The provider block and environment, read and checked, before any credential is looked for.
#[derive(Debug)]
pub struct Resolution {
    /// Endpoints, region, project and options. Its keys stay empty: the credential chain's
    /// provider signs every request.
    pub client: ClientConfig,
    /// What the credential chain needs, the provider's arguments winning over its variables.
    pub chain: ChainInputs,
    /// Where `assume_role`'s agency name came from; `None` when no agency is configured (a
    /// profile may still name one).
    pub agency_origin: Option<Origin>,
}

/// The client configuration and the credential chain's inputs from the provider block and the
/// environment (`env` is injected so tests need not touch the process environment). Errors
/// point at the attribute to set and name the environment variable that could set it instead.
/// Region and project are checked by [`complete`], once the chain had its say.
pub fn resolve(
    config: &Value,
    env: impl Fn(&str) -> Option<String>,
    user_agent: String,
) -> Result<(Resolution, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    if config.contains_unknown() {
        diags.push(Diagnostic::error(
            "Provider configuration not known",
            "The csms provider block refers to values that are only known after apply. Use literal values, \
             variables or environment variables for the provider arguments.",
        ));
    }
    let settings = Settings::read(config, &env, &mut diags);
    let insecure = settings.flag(&INSECURE).unwrap_or(false);
    // The base URLs requests will go to: the endpoint (default https), and IAM's when the
    // project must be looked up.
    let mut in_use = vec![(&ENDPOINT, settings.text(&ENDPOINT))];
    if !settings.given(&PROJECT_ID) {
        in_use.push((&IAM_ENDPOINT, settings.text(&IAM_ENDPOINT)));
    }
    for (argument, url) in &in_use {
        if let Some(url) = url.as_deref().filter(|u| cleartext_to_remote(u)) {
            diags.push(cleartext_warning(argument, url));
        }
    }
    let https = in_use
        .iter()
        .any(|(_, url)| url.as_deref().is_none_or(|u| u.starts_with("https://")));
    if insecure && https {
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
    // A region from the provider block was checked at validate time; the environment's only now.
    if settings.origin(&REGION) == Some(Origin::Environment(REGION.env))
        && !settings.given(&ENDPOINT)
    {
        diags.extend(
            settings
                .text(&REGION)
                .and_then(|r| unknown_region(&r, REGION.name)),
        );
    }
    let agency = match agency(&settings, &env) {
        Ok(agency) => agency,
        Err(e) => {
            diags.push(
                Diagnostic::error("Invalid assume_role", format!("{e}.")).at(ASSUME_ROLE.name),
            );
            None
        }
    };
    if has_error(&diags) {
        return Err(diags);
    }
    let defaults = ClientConfig::default();
    let client = ClientConfig {
        region: settings.text(&REGION),
        project_id: settings.text(&PROJECT_ID),
        endpoint: settings.text(&ENDPOINT),
        cloud: settings.text(&CLOUD).unwrap_or_default(),
        iam_endpoint: settings.text(&IAM_ENDPOINT),
        signing_algorithm: settings.algorithm(&SIGNING_ALGORITHM).unwrap_or_default(),
        insecure,
        retry: RetryPolicy {
            max_retries: settings
                .count(&MAX_RETRIES)
                .unwrap_or(defaults.retry.max_retries),
            ..defaults.retry.clone()
        },
        user_agent,
        ..defaults
    };
    let chain = ChainInputs {
        block: block_keys(&settings),
        environment: StaticKeys::from_env(&env),
        shared_file: SharedFileSettings {
            path: settings.text(&SHARED_CONFIG_FILE).map(PathBuf::from),
            profile: settings.text(&PROFILE),
            ..SharedFileSettings::from_env(&env)
        },
        metadata: MetadataSettings::from_env(&env),
        agency,
        region: client.region.clone(),
        cloud: settings.text(&CLOUD),
        iam_endpoint: client.iam_endpoint.clone(),
        insecure,
        deadline: settings.duration(&CONFIGURE_TIMEOUT),
        ..ChainInputs::default()
    };
    let agency_origin = settings.origin(&AGENCY_NAME);
    Ok((
        Resolution {
            client,
            chain,
            agency_origin,
        },
        diags,
    ))
}

/// The block's keys, when it sets any of `access_key`, `secret_key`, `security_token`: each
/// then filled from its variable if the block leaves it out, as for every argument. A block
/// that sets none leaves the keys to the environment's own source.
fn block_keys(settings: &Settings) -> StaticKeys {
    let in_block = |a: &Argument| settings.origin(a) == Some(Origin::Block);
    if ![ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN]
        .iter()
        .any(in_block)
    {
        return StaticKeys::default();
    }
    StaticKeys {
        access_key: settings.text(&ACCESS_KEY),
        secret_key: settings.text(&SECRET_KEY),
        security_token: settings.text(&SECURITY_TOKEN),
    }
}

/// The agency of `assume_role` or its variables; `None` without an agency name.
fn agency(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<AgencySettings>, crate::csms::credentials::CredentialError> {
    let Some(name) = settings.text(&AGENCY_NAME) else {
        return Ok(None);
    };
    let domain = match (
        settings.text(&DOMAIN_NAME),
        env(DOMAIN_ID_ENV).filter(|v| !v.trim().is_empty()),
    ) {
        (Some(name), _) => AgencyDomain::Name(name),
        (None, Some(id)) => AgencyDomain::Id(id),
        (None, None) => AgencyDomain::Name(String::new()),
    };
    let duration = settings.count(&DURATION_SECONDS).map(u64::from);
    AgencySettings::new(&name, domain, duration).map(Some)
}

/// Fills the region and project the block and environment left unset from the profile, and
/// checks that requests then have somewhere to go.
pub fn complete(
    client: &mut ClientConfig,
    profile_region: Option<String>,
    profile_project_id: Option<String>,
) -> Result<(), Vec<Diagnostic>> {
    if client.region.is_none() {
        client.region = profile_region;
    }
    if client.project_id.is_none() {
        client.project_id = profile_project_id;
    }
    let mut diags = Vec::new();
    if client.region.is_none() && client.endpoint.is_none() {
        diags.push(missing(
            &REGION,
            "the region, e.g. `cn-north-4`, or `endpoint` with the full URL of the API",
        ));
    }
    if client.region.is_none() && client.project_id.is_none() {
        diags.push(missing(
            &PROJECT_ID,
            "the project ID (it can only be looked up when `region` is set)",
        ));
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(diags)
    }
}

/// A string argument's value, checked: the algorithm parsed, text as given.
fn check_string(argument: &Argument, value: String) -> Result<Setting, String> {
    if argument.check == Check::Duration {
        return match crate::plugin::duration::parse(value.trim()) {
            Ok(d) if !d.is_zero() => Ok(Setting::Duration(d)),
            Ok(_) => Err(format!(
                "{value:?} leaves no time: give a duration above zero, e.g. \"1m\"."
            )),
            Err(why) => Err(format!(
                "{value:?} is not a duration ({why}); write numbers with units, as Go does: \"30s\", \"2m\"."
            )),
        };
    }
    if argument.check == Check::SigningAlgorithm {
        return value
            .parse()
            .map(Setting::Algorithm)
            .map_err(|e| format!("{e}."));
    }
    check_text(argument, &value).map(|()| Setting::Text(value))
}

/// A plain `http://` URL to a host other than this machine: requests, tasks and the security
/// token would cross the network unencrypted.
fn cleartext_to_remote(url: &str) -> bool {
    let Some(parsed) = url
        .strip_prefix("http://")
        .and_then(|_| reqwest::Url::parse(url).ok())
    else {
        return false;
    };
    let host = parsed.host_str().unwrap_or_default();
    match host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(ip) => !ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
    }
}

fn cleartext_warning(argument: &Argument, url: &str) -> Diagnostic {
    Diagnostic::warning(
        "Plain HTTP to a remote host",
        format!(
            "`{}` is {url:?}: plain http:// to a host other than this machine. The signed requests, the task \
             list and the security token of temporary credentials (X-Security-Token) would cross the network \
             unencrypted, readable and alterable on the way. Use https://; plain http:// is meant for a local \
             emulator on 127.0.0.1 or localhost.",
            argument.name
        ),
    )
    .at(argument.name)
}

fn check_text(argument: &Argument, value: &str) -> Result<(), String> {
    match argument.check {
        Check::BaseUrl => check_url(value),
        Check::Region => check_region(value),
        Check::ProjectId => match project_id_problem(value) {
            Some(problem) => Err(format!(
                "`project_id` {problem}. It becomes one segment of every request path (/v1/{{project_id}}/csms/tasks)."
            )),
            None => Ok(()),
        },
        _ if value.is_empty() || value.chars().any(char::is_control) => Err(format!(
            "`{}` must be a non-empty string without control characters.",
            argument.name
        )),
        _ => Ok(()),
    }
}

/// An environment bool. Anything else is an error: `HW_INSECURE=maybe` must not quietly mean
/// false (or true).
fn parse_flag(argument: &Argument, raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(format!(
            "{} must be true or false (also accepted: 1/0, yes/no).",
            argument.name
        )),
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

pub(crate) fn check_region(region: &str) -> Result<(), String> {
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

/// A whole number within the argument's range.
fn check_count(argument: &Argument, n: f64) -> Result<u32, String> {
    let (low, high) = count_bounds(argument);
    if n.fract() == 0.0 && (low..=high).contains(&n) {
        Ok(n as u32)
    } else {
        Err(count_range(argument, Some(n)))
    }
}

fn count_bounds(argument: &Argument) -> (f64, f64) {
    match argument.check {
        Check::AgencyDuration => (
            f64::from(*DURATION_RANGE.start()),
            f64::from(*DURATION_RANGE.end()),
        ),
        _ => (0.0, MAX_RETRIES_LIMIT),
    }
}

fn count_range(argument: &Argument, got: Option<f64>) -> String {
    let (low, high) = count_bounds(argument);
    let got = got.map(|n| format!(", got {n}")).unwrap_or_default();
    format!(
        "{} must be a whole number from {low} to {high}{got}.",
        argument.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configure_timeout_documents_the_default_applied_and_is_read() {
        let default = crate::csms::credentials::chain::DEFAULT_DEADLINE;
        assert_eq!(default, std::time::Duration::from_secs(60));
        assert!(CONFIGURE_TIMEOUT.description.contains("default `\"1m\"`"));
        let env = |v: &str| (v == "HW_CONFIGURE_TIMEOUT").then(|| "90s".to_string());
        let (r, _) = resolve(&schema().config(&[]), env, "ua".into()).unwrap();
        assert_eq!(r.chain.deadline, Some(std::time::Duration::from_secs(90)));
    }
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

    fn resolved(c: &Value, env: impl Fn(&str) -> Option<String>) -> Resolution {
        resolve(c, env, "ua".into()).unwrap().0
    }

    #[test]
    fn configuration_wins_over_environment() {
        let env = |var: &str| {
            matches!(var, "HW_PROJECT_ID" | "HW_ACCESS_KEY" | "HW_PROFILE")
                .then(|| format!("env-{var}"))
        };
        let c = config(&[
            ("region", s("cn-north-4")),
            ("access_key", s("AK")),
            ("secret_key", s("SK")),
            ("profile", s("prod")),
        ]);
        let r = resolved(&c, env);
        assert_eq!(r.client.region.as_deref(), Some("cn-north-4"));
        assert_eq!(r.client.project_id.as_deref(), Some("env-HW_PROJECT_ID"));
        assert_eq!(r.chain.shared_file.profile.as_deref(), Some("prod"));
        // The block's keys are the block's source; the variables stay the environment's.
        assert_eq!(r.chain.block.access_key.as_deref(), Some("AK"));
        assert_eq!(r.chain.block.secret_key.as_deref(), Some("SK"));
        assert_eq!(
            r.chain.environment.access_key.as_deref(),
            Some("env-HW_ACCESS_KEY")
        );
        assert_eq!(r.chain.region.as_deref(), Some("cn-north-4"));
    }

    #[test]
    fn environment_fills_every_gap() {
        let env = |var: &str| match var {
            "HW_REGION_NAME" => Some("ap-southeast-1".into()),
            "HW_ACCESS_KEY" => Some("AK".into()),
            "HW_SECRET_KEY" => Some("SK".into()),
            "HW_MAX_RETRIES" => Some("2".into()),
            "HW_INSECURE" => Some("true".into()),
            "HW_SIGNING_ALGORITHM" => Some("HmacSM3".into()),
            "HW_SHARED_CONFIG_FILE" => Some("/etc/hcloud.json".into()),
            _ => None,
        };
        let (r, diags) = resolve(&config(&[]), env, "ua".into()).unwrap();
        assert_eq!(
            (
                r.client.region.as_deref(),
                r.client.retry.max_retries,
                r.client.insecure
            ),
            (Some("ap-southeast-1"), 2, true)
        );
        assert_eq!(r.client.signing_algorithm, SigningAlgorithm::HmacSm3);
        assert_eq!(r.chain.block.access_key, None);
        assert_eq!(r.chain.environment.secret_key.as_deref(), Some("SK"));
        assert_eq!(
            r.chain.shared_file.path.as_deref(),
            Some(std::path::Path::new("/etc/hcloud.json"))
        );
        assert_eq!(diags.len(), 1, "insecure warns: {diags:?}");
        assert!(!diags[0].is_error());
    }

    #[test]
    fn a_key_in_the_block_takes_the_others_from_their_variables() {
        let env = |var: &str| match var {
            "HW_ACCESS_KEY" => Some("AK-ENV".into()),
            "HW_SECRET_KEY" => Some("SK-ENV".into()),
            _ => None,
        };
        let r = resolved(&config(&[("access_key", s("AK-BLOCK"))]), env);
        assert_eq!(
            (
                r.chain.block.access_key.as_deref(),
                r.chain.block.secret_key.as_deref()
            ),
            (Some("AK-BLOCK"), Some("SK-ENV"))
        );
        let r = resolved(&config(&[("security_token", s("TOKEN"))]), env);
        assert_eq!(r.chain.block.access_key.as_deref(), Some("AK-ENV"));
        assert_eq!(r.chain.block.security_token.as_deref(), Some("TOKEN"));
        let r = resolved(&config(&[]), env);
        assert_eq!(r.chain.block.access_key, None);
    }

    #[test]
    fn assume_role_from_the_block_with_variables_filling_its_gaps() {
        let block = Value::List(vec![Value::object([
            ("agency_name", s("audit")),
            ("domain_name", Value::Null),
            ("duration_seconds", Value::Number(900.0)),
        ])]);
        let env = |var: &str| match var {
            "HW_ASSUME_ROLE_DOMAIN_NAME" => Some("team-b".into()),
            "HW_ASSUME_ROLE_AGENCY_NAME" => Some("ignored".into()),
            _ => None,
        };
        let agency = resolved(&config(&[("assume_role", block)]), env)
            .chain
            .agency
            .unwrap();
        assert_eq!(
            agency,
            AgencySettings::new("audit", AgencyDomain::Name("team-b".into()), Some(900)).unwrap()
        );
    }

    #[test]
    fn assume_role_variables_work_without_a_block() {
        let env = |var: &str| match var {
            "HW_ASSUME_ROLE_AGENCY_NAME" => Some("audit".into()),
            "HW_ASSUME_ROLE_DOMAIN_ID" => Some("b0b".into()),
            _ => None,
        };
        let agency = resolved(&config(&[]), env).chain.agency.unwrap();
        assert_eq!(agency.domain, AgencyDomain::Id("b0b".into()));
        assert_eq!(agency.duration_seconds, 3600);
        assert_eq!(resolved(&config(&[]), no_env).chain.agency, None);
        let no_domain = |var: &str| (var == "HW_ASSUME_ROLE_AGENCY_NAME").then(|| "a".into());
        let diags = resolve(&config(&[]), no_domain, "ua".into()).unwrap_err();
        assert_eq!(paths(&diags), ["assume_role"]);
    }

    #[test]
    fn duration_seconds_is_checked_on_the_nested_attribute() {
        let block = Value::List(vec![Value::object([
            ("agency_name", s("audit")),
            ("domain_name", s("team-b")),
            ("duration_seconds", Value::Number(600.0)),
        ])]);
        let diags = validate(&config(&[("assume_role", block)]));
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].path,
            [
                PathStep::Attribute("assume_role".into()),
                PathStep::Index(0),
                PathStep::Attribute("duration_seconds".into())
            ]
        );
        assert!(
            diags[0].detail.contains("900 to 86400"),
            "{}",
            diags[0].detail
        );
        let env = |var: &str| (var == "HW_ASSUME_ROLE_DURATION").then(|| "100000".into());
        let diags = resolve(&config(&[]), env, "ua".into()).unwrap_err();
        assert_eq!(diags[0].path, [PathStep::Attribute("assume_role".into())]);
        assert!(diags[0].detail.contains("HW_ASSUME_ROLE_DURATION"));
    }

    #[test]
    fn unsupported_signing_algorithms_get_the_signers_message() {
        let diags = validate(&config(&[("signing_algorithm", s("SM2SM3"))]));
        assert_eq!(paths(&diags), ["signing_algorithm"]);
        let signer_says = "SM2SM3"
            .parse::<SigningAlgorithm>()
            .unwrap_err()
            .to_string();
        assert!(
            diags[0].detail.contains(&signer_says),
            "{}",
            diags[0].detail
        );
    }

    #[test]
    fn assume_role_is_a_block_of_at_most_one() {
        let schema = schema();
        let a = schema
            .attributes
            .iter()
            .find(|a| a.name == "assume_role")
            .unwrap();
        let AttrType::Block(BlockNesting::List { max_items: 1 }, children) = &a.ty else {
            panic!("{:?}", a.ty)
        };
        let names: Vec<&str> = children.iter().map(|c| c.name).collect();
        assert_eq!(names, ["agency_name", "domain_name", "duration_seconds"]);
        assert_eq!(
            ASSUME_ROLE.environment()[2],
            (
                "assume_role.duration_seconds".into(),
                "HW_ASSUME_ROLE_DURATION"
            )
        );
    }

    #[test]
    fn region_or_endpoint_and_project_must_be_known_once_the_profile_had_its_say() {
        let mut c = ClientConfig::default();
        let diags = complete(&mut c.clone(), None, None).unwrap_err();
        assert_eq!(paths(&diags), ["region", "project_id"]);
        assert!(diags[0].detail.contains("HW_REGION_NAME"));
        complete(&mut c, Some("cn-south-1".into()), Some("p".into())).unwrap();
        assert_eq!(
            (c.region.as_deref(), c.project_id.as_deref()),
            (Some("cn-south-1"), Some("p"))
        );
        let mut c = ClientConfig {
            region: Some("cn-north-4".into()),
            ..ClientConfig::default()
        };
        complete(&mut c, Some("cn-south-1".into()), None).unwrap();
        assert_eq!(
            c.region.as_deref(),
            Some("cn-north-4"),
            "only gaps are filled"
        );
        let mut c = ClientConfig {
            endpoint: Some("http://127.0.0.1:8080".into()),
            project_id: Some("p".into()),
            ..ClientConfig::default()
        };
        assert!(complete(&mut c, None, None).is_ok());
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

    fn keys() -> Vec<(&'static str, Value)> {
        vec![("access_key", s("AK")), ("secret_key", s("SK"))]
    }

    fn warnings(pairs: &[(&str, Value)]) -> Vec<(String, String)> {
        let mut all = keys();
        all.extend(pairs.iter().cloned());
        let (_, diags) = resolve(&config(&all), no_env, "ua".into()).unwrap();
        diags
            .iter()
            .map(|d| {
                assert!(!d.is_error(), "{d:?}");
                let at = match d.path.first() {
                    Some(PathStep::Attribute(a)) => a.clone(),
                    _ => String::new(),
                };
                (d.summary.clone(), at)
            })
            .collect()
    }

    #[test]
    fn insecure_warns_only_when_an_https_endpoint_is_in_use() {
        let tls_off = || {
            (
                "TLS verification is off".to_string(),
                "insecure".to_string(),
            )
        };
        let local = [
            ("endpoint", s("http://127.0.0.1:8080")),
            ("project_id", s("p")),
            ("insecure", Value::Bool(true)),
        ];
        assert_eq!(warnings(&local), []);
        let default_https = [("region", s("cn-north-4")), ("insecure", Value::Bool(true))];
        assert_eq!(warnings(&default_https), [tls_off()]);
        let iam_https = [
            ("region", s("cn-north-4")),
            ("endpoint", s("http://127.0.0.1:8080")),
            ("insecure", Value::Bool(true)),
        ];
        assert_eq!(warnings(&iam_https), [tls_off()], "the IAM lookup is https");
    }

    #[test]
    fn plain_http_to_a_remote_host_warns_on_its_attribute() {
        let plain = |url: &str| {
            warnings(&[
                ("region", s("cn-north-4")),
                ("endpoint", s(url)),
                ("iam_endpoint", s("http://10.0.0.2")),
            ])
        };
        let remote = (
            "Plain HTTP to a remote host".to_string(),
            "endpoint".to_string(),
        );
        let remote_iam = (remote.0.clone(), "iam_endpoint".to_string());
        assert_eq!(
            plain("http://kms.example.com"),
            [remote.clone(), remote_iam.clone()]
        );
        for local in [
            "http://127.0.0.1:1",
            "http://localhost:8080/x",
            "http://[::1]:9",
            "https://kms.example.com",
        ] {
            assert_eq!(plain(local), std::slice::from_ref(&remote_iam), "{local}");
        }
        // With a project id, IAM is never asked: its URL does not matter.
        assert_eq!(
            warnings(&[
                ("endpoint", s("http://kms.example.com")),
                ("project_id", s("p")),
                ("iam_endpoint", s("http://10.0.0.2"))
            ]),
            [remote]
        );
    }

    #[test]
    fn a_project_id_that_would_move_the_request_is_refused_on_its_attribute() {
        for bad in ["..", ".", "a/b", "a b"] {
            let mut all = keys();
            all.extend([("region", s("cn-north-4")), ("project_id", s(bad))]);
            let diags = resolve(&config(&all), no_env, "ua".into()).unwrap_err();
            assert_eq!(paths(&diags), ["project_id"], "{bad:?}");
        }
        let env = |var: &str| (var == "HW_PROJECT_ID").then(|| "..".to_string());
        let mut all = keys();
        all.push(("region", s("cn-north-4")));
        let diags = resolve(&config(&all), env, "ua".into()).unwrap_err();
        assert_eq!(paths(&diags), ["project_id"]);
        assert!(
            diags[0].detail.contains("HW_PROJECT_ID"),
            "{}",
            diags[0].detail
        );
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
