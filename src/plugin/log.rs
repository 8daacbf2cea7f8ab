//! Logging as Terraform reads it: `tracing` events written to stderr as hclog JSON lines.
//!
//! go-plugin hands every stderr line of a plugin to Terraform's logger; a line that is an hclog
//! JSON object keeps its level, message and fields, so `TF_LOG_PROVIDER=DEBUG` shows the
//! provider's own lines at the right level. The timestamp must have exactly six fractional
//! digits, or hclog fails to parse it and demotes the line to DEBUG.
//!
//! The level comes from `TF_LOG_PROVIDER_<TYPE NAME>` (e.g. `TF_LOG_PROVIDER_CSMS`), then
//! `TF_LOG_PROVIDER`, then `TF_LOG`, like terraform-plugin-go providers; logging is off when none
//! is set. Never log configuration values: they hold credentials.

use std::fmt;
use std::io::Write;

use serde_json::{Map, Value as Json};
use time::format_description::FormatItem;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// hclog's JSON time format: RFC 3339 in UTC with microseconds.
const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Installs the hclog layer as the global subscriber for the provider `type_name`.
pub fn init(type_name: &str) {
    let level = level_from_env(type_name, |name| std::env::var(name).ok());
    let layer = HclogLayer {
        module: format!("provider.terraform-provider-{type_name}"),
    };
    // Dependencies (h2, hyper, tower) trace every frame; only their warnings are worth a line.
    let own_crate = env!("CARGO_CRATE_NAME");
    let filter = filter_fn(move |meta| {
        let limit = if meta.target().starts_with(own_crate) {
            level
        } else {
            level.min(LevelFilter::WARN)
        };
        *meta.level() <= limit
    })
    .with_max_level_hint(level);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// The level Terraform's environment asks for, most specific variable first. Values are
/// Terraform's: TRACE, DEBUG, INFO, WARN, ERROR, JSON (= TRACE) and OFF; an unrecognised value
/// means TRACE, as Terraform itself treats it.
pub fn level_from_env(type_name: &str, var: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let specific = format!("TF_LOG_PROVIDER_{}", type_name.to_ascii_uppercase());
    let value = [specific.as_str(), "TF_LOG_PROVIDER", "TF_LOG"]
        .into_iter()
        .find_map(|name| var(name).filter(|v| !v.trim().is_empty()));
    let Some(value) = value else {
        return LevelFilter::OFF;
    };
    match value.trim().to_ascii_uppercase().as_str() {
        "OFF" => LevelFilter::OFF,
        "ERROR" => LevelFilter::ERROR,
        "WARN" => LevelFilter::WARN,
        "INFO" => LevelFilter::INFO,
        "DEBUG" => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Writes each event as one hclog JSON line on stderr.
struct HclogLayer {
    module: String,
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let now = time::OffsetDateTime::now_utc();
        let mut line = hclog_line(&self.module, event, now).into_bytes();
        line.push(b'\n');
        // One write per line so that concurrent events never interleave.
        let _ = std::io::stderr().lock().write_all(&line);
    }
}

/// The hclog JSON object for `event`: `@level`, `@message`, `@module`, `@timestamp`, and every
/// other field of the event as its own key.
fn hclog_line(module: &str, event: &Event<'_>, now: time::OffsetDateTime) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut object = Map::new();
    object.insert(
        "@level".into(),
        level_name(*event.metadata().level()).into(),
    );
    object.insert("@message".into(), fields.message.unwrap_or_default().into());
    object.insert("@module".into(), module.into());
    let timestamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_default();
    object.insert("@timestamp".into(), timestamp.into());
    for (key, value) in fields.others {
        object.entry(key).or_insert(value);
    }
    Json::Object(object).to_string()
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// The fields of one event, with `message` kept apart.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    others: Vec<(String, Json)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Json) {
        if field.name() == "message" {
            self.message = Some(match value {
                Json::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.others.push((field.name().to_string(), value));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Captures the lines a subscriber with [`hclog_line`] would print.
    struct Capture {
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            let now = time::macros::datetime!(2026-01-02 03:04:05.1 UTC);
            self.lines.lock().unwrap().push(hclog_line(
                "provider.terraform-provider-x",
                event,
                now,
            ));
        }
    }

    #[test]
    fn lines_are_hclog_json_with_microsecond_timestamps() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture {
            lines: lines.clone(),
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(
                rpc = "ReadDataSource",
                elapsed_ms = 12u64,
                ok = true,
                "Served request"
            );
            tracing::warn!("plain \"quoted\" message");
        });
        let lines = lines.lock().unwrap();
        let first: Json = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["@level"], "debug");
        assert_eq!(first["@message"], "Served request");
        assert_eq!(first["@module"], "provider.terraform-provider-x");
        assert_eq!(first["@timestamp"], "2026-01-02T03:04:05.100000Z");
        assert_eq!(first["rpc"], "ReadDataSource");
        assert_eq!(first["elapsed_ms"], 12);
        assert_eq!(first["ok"], true);
        let second: Json = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(second["@level"], "warn");
        assert_eq!(second["@message"], "plain \"quoted\" message");
        assert!(!lines[0].contains('\n'));
    }

    #[test]
    fn level_comes_from_the_most_specific_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(level_from_env("csms", env(&[])), LevelFilter::OFF);
        assert_eq!(
            level_from_env("csms", env(&[("TF_LOG", "info")])),
            LevelFilter::INFO
        );
        assert_eq!(
            level_from_env(
                "csms",
                env(&[("TF_LOG", "TRACE"), ("TF_LOG_PROVIDER", "WARN")])
            ),
            LevelFilter::WARN
        );
        assert_eq!(
            level_from_env(
                "csms",
                env(&[
                    ("TF_LOG", "TRACE"),
                    ("TF_LOG_PROVIDER", "WARN"),
                    ("TF_LOG_PROVIDER_CSMS", "ERROR")
                ])
            ),
            LevelFilter::ERROR
        );
        assert_eq!(
            level_from_env(
                "csms",
                env(&[("TF_LOG_PROVIDER_CSMS", "off"), ("TF_LOG", "DEBUG")])
            ),
            LevelFilter::OFF
        );
        assert_eq!(
            level_from_env("csms", env(&[("TF_LOG", "JSON")])),
            LevelFilter::TRACE
        );
        assert_eq!(
            level_from_env("csms", env(&[("TF_LOG_PROVIDER", ""), ("TF_LOG", "debug")])),
            LevelFilter::DEBUG
        );
    }
}
