//! Durations in Terraform's syntax, which is Go's `time.ParseDuration` (`"90m"`, `"1h30m"`,
//! `"720h"`): what `timeouts` blocks and `timeadd()` take, so users write durations one way.

use std::time::Duration;

/// Parses Go's `time.ParseDuration` syntax: an optional sign, then one or more numbers (with an
/// optional fraction) each followed by a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`);
/// `"0"` alone is zero. Negative durations are refused: none this provider takes (a timeout, a
/// grace period) can be negative.
pub fn parse(text: &str) -> Result<Duration, String> {
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
            assert_eq!(parse(text), Ok(expected), "{text}");
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
            let e = parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
