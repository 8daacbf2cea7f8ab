//! The conventional `timeouts { read = "5m" }` block, in the shape of
//! terraform-plugin-framework-timeouts (a single nested block with an optional `read` string in
//! Go's duration syntax), so users write what they write for every other provider.

use std::time::Duration;

use crate::csms::config::DEFAULT_DEADLINE;
use crate::plugin::{AttrType, Attribute, BlockNesting, Diagnostic, PathStep, Type, Usage, Value};

/// The block's name, as the framework names it.
pub const NAME: &str = "timeouts";

/// The schema entry of the block.
pub fn attribute() -> Attribute {
    Attribute::new(
        NAME,
        AttrType::Block(
            BlockNesting::Single,
            vec![Attribute::new(
                "read",
                AttrType::Plain(Type::String),
                Usage::Optional,
                "Longest time one read may take, every page and retry included, as a Go duration: a \
                 sequence of numbers with units `s`, `m` or `h` (also `ms`, `us`, `ns`), e.g. `\"30s\"`, \
                 `\"5m\"`, `\"1h30m\"`. Default `\"5m\"`. Each request also has its own bounds (see the \
                 provider's documentation), so an endpoint that does not answer fails a read long before this.",
            )],
        ),
        Usage::Optional,
        "Time bounds of this data source, in the block Terraform providers conventionally take \
         (`timeouts { read = \"10m\" }`).",
    )
}

/// A configured `read`: as written (echoed in the state) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTimeout {
    pub written: String,
    pub duration: Duration,
}

/// The block as configured: `None` without a block; a block without `read` has `read: None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeoutsBlock {
    pub read: Option<ReadTimeout>,
}

impl TimeoutsBlock {
    /// The read's bound: the configured `read`, else the default.
    pub fn read_or_default(block: Option<&TimeoutsBlock>) -> Duration {
        block
            .and_then(|t| t.read.as_ref())
            .map_or(DEFAULT_DEADLINE, |r| r.duration)
    }
}

/// Reads and checks the block of `config` (the data source's object). An unknown block or
/// `read` skips the check (validate may see one; a read never does) and counts as unset.
pub fn read(config: &Value) -> Result<Option<TimeoutsBlock>, Diagnostic> {
    let block = match config.get(NAME) {
        Value::Null | Value::Unknown => return Ok(None),
        block => block,
    };
    let at_read = |d: Diagnostic| Diagnostic {
        path: vec![
            PathStep::Attribute(NAME.into()),
            PathStep::Attribute("read".into()),
        ],
        ..d
    };
    let written = match block.string_attr("read") {
        Ok(attr) => attr.set(),
        Err(e) => {
            return Err(at_read(Diagnostic::error(
                "Invalid timeouts.read",
                e.to_string(),
            )))
        }
    };
    let read = match written {
        None => None,
        Some(written) => match parse_go_duration(&written) {
            Ok(d) if !d.is_zero() => Some(ReadTimeout {
                written,
                duration: d,
            }),
            Ok(_) => {
                return Err(at_read(Diagnostic::error(
                    "Invalid timeouts.read",
                    format!("timeouts.read is {written:?}; a read needs some time: give a duration above zero, e.g. \"5m\"."),
                )))
            }
            Err(why) => {
                return Err(at_read(Diagnostic::error(
                    "Invalid timeouts.read",
                    format!(
                        "timeouts.read is {written:?}, which is not a duration ({why}). Write a sequence of numbers \
                         with units, as Go does: \"30s\", \"5m\", \"1h30m\"; units are \"h\", \"m\", \"s\", \"ms\", \
                         \"us\" and \"ns\"."
                    ),
                )))
            }
        },
    };
    Ok(Some(TimeoutsBlock { read }))
}

/// Parses Go's `time.ParseDuration` syntax: an optional sign, then one or more numbers (with an
/// optional fraction) each followed by a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`);
/// `"0"` alone is zero. Negative durations are refused, since no timeout can be negative.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let mut rest = text;
    if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    } else if rest.starts_with('-') {
        return Err("it is negative".into());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err("it is empty".into());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(format!("expected a number at {rest:?}"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("{number:?} has no unit")),
            other => return Err(format!("unknown unit {other:?}")),
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("{number:?} is not a number"))?;
        total += value * nanos_per_unit;
        rest = after;
    }
    // Go's limit (about 292 years): larger values overflow there and here.
    if !total.is_finite() || total > i64::MAX as f64 {
        return Err("it is too large".into());
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default as the description writes it.
    const DEFAULT_WRITTEN: &str = "5m";

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        let ms = Duration::from_millis;
        for (text, expected) in [
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("2h45m10s", Duration::from_secs(9910)),
            ("1.5h", Duration::from_secs(5400)),
            ("300ms", ms(300)),
            (".5s", ms(500)),
            ("1.s", Duration::from_secs(1)),
            ("+10s", Duration::from_secs(10)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("1500us", ms(1) + Duration::from_micros(500)),
            ("2µs", Duration::from_micros(2)),
            ("7ns", Duration::from_nanos(7)),
            ("1m1m", Duration::from_secs(120)),
        ] {
            assert_eq!(parse_go_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn what_go_refuses_is_refused_with_the_reason() {
        for (text, why) in [
            ("", "empty"),
            ("5", "no unit"),
            ("10 s", "unknown unit"),
            ("5min", "unknown unit"),
            ("1d", "unknown unit"),
            ("s", "expected a number"),
            (".s", "expected a number"),
            ("1.2.3s", "expected a number"),
            ("-5m", "negative"),
            ("3000000h", "too large"),
        ] {
            let e = parse_go_duration(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    fn config(block: Value) -> Value {
        Value::object([(NAME, block)])
    }

    fn read_block(read: Value) -> Value {
        Value::object([("read", read)])
    }

    #[test]
    fn the_block_reads_as_configured_and_bad_values_point_at_read() {
        assert_eq!(read(&config(Value::Null)), Ok(None));
        assert_eq!(read(&config(Value::Unknown)), Ok(None));
        assert_eq!(
            read(&config(read_block(Value::Unknown))),
            Ok(Some(TimeoutsBlock { read: None }))
        );
        assert_eq!(
            read(&config(read_block(Value::Null))),
            Ok(Some(TimeoutsBlock { read: None }))
        );
        let t = read(&config(read_block(Value::String("90s".into()))))
            .unwrap()
            .unwrap();
        assert_eq!(
            t.read,
            Some(ReadTimeout {
                written: "90s".into(),
                duration: Duration::from_secs(90)
            })
        );
        assert_eq!(
            TimeoutsBlock::read_or_default(Some(&t)),
            Duration::from_secs(90)
        );
        for bad in ["5 minutes", "0s", "-1m"] {
            let d = read(&config(read_block(Value::String(bad.into())))).unwrap_err();
            assert!(d.is_error());
            assert_eq!(
                d.path,
                [
                    PathStep::Attribute("timeouts".into()),
                    PathStep::Attribute("read".into())
                ],
                "{bad}"
            );
            assert!(d.detail.contains(&format!("{bad:?}")), "{}", d.detail);
        }
    }

    #[test]
    fn the_documented_default_is_the_one_applied() {
        assert_eq!(TimeoutsBlock::read_or_default(None), DEFAULT_DEADLINE);
        assert_eq!(
            TimeoutsBlock::read_or_default(Some(&TimeoutsBlock::default())),
            DEFAULT_DEADLINE
        );
        assert_eq!(parse_go_duration(DEFAULT_WRITTEN), Ok(DEFAULT_DEADLINE));
        let AttrType::Block(_, children) = attribute().ty else {
            panic!("a block")
        };
        assert!(
            children[0]
                .description
                .contains(&format!("Default `\"{DEFAULT_WRITTEN}\"`")),
            "{}",
            children[0].description
        );
    }
}
