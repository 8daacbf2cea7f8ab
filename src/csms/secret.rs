//! The API's `Secret` and the ListSecrets page, shared by the client (decoding) and the emulator
//! (its data), with the readings every user of a secret needs: its times and its rotation period.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::text;

/// One secret as ListSecrets returns it. Every field but `name` may be absent or null (the API
/// publishes no required fields); `name` is the listing's marker and the key every verdict is
/// filed under, so a secret without one is no secret.
///
/// Decoded from JSON objects only, for the reason [`SecretTask`](super::task::SecretTask) gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(remote = "Self")]
pub struct Secret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// `ENABLED`, `DISABLED`, `PENDING_DELETE` or `FROZEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seconds or milliseconds since 1970: see [`instant`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_delete_time: Option<i64>,
    /// `COMMON`, `RDS-FG`, `GaussDB-FG` (`RDS` is the retired name of `RDS-FG`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rotation: Option<bool>,
    /// `Integer[unit]`, unit `d`, `h`, `m` or `s`: see [`rotation_period_seconds`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_subscriptions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_func_urn: Option<String>,
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Secret::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SecretObject)
    }
}

struct SecretObject;

impl<'de> Visitor<'de> for SecretObject {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret as a JSON object (secrets are read by field name, never by position)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Secret, A::Error> {
        Secret::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

impl Secret {
    /// Whether the service rotates this secret by itself: `auto_rotation` on and `ENABLED`.
    pub fn rotates(&self) -> bool {
        self.auto_rotation == Some(true) && self.state.as_deref() == Some("ENABLED")
    }

    /// [`rotation_period_seconds`] of this secret's period.
    pub fn rotation_period_seconds(&self) -> Option<i64> {
        rotation_period_seconds(self.rotation_period.as_deref()?)
    }
}

/// Values at or above this are milliseconds, below it seconds. The SDK documents seconds, the
/// service's examples and the Go provider use milliseconds; 10^11 seconds is the year 5138 and
/// 10^11 milliseconds is 1973, so no real time of either unit falls on the wrong side.
pub const MILLIS_FROM: i64 = 100_000_000_000;

/// A time field of a secret as an instant: milliseconds from [`MILLIS_FROM`] on, seconds below;
/// `None` for 0 (the service's "never") and for what RFC 3339 cannot write (years before 0000 or
/// after 9999).
pub fn instant(raw: i64) -> Option<OffsetDateTime> {
    let nanos = match raw {
        0 => return None,
        r if r.unsigned_abs() >= MILLIS_FROM.unsigned_abs() => i128::from(r) * 1_000_000,
        r => i128::from(r) * 1_000_000_000,
    };
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .filter(|t| t.year() >= 0)
}

/// A time field as RFC 3339 UTC, `None` when [`instant`] gives none.
pub fn rfc3339(raw: Option<i64>) -> Option<String> {
    instant(raw?)?.format(&Rfc3339).ok()
}

/// `Integer[unit]` in seconds: a positive integer followed by `d`, `h`, `m` or `s` (`30d`,
/// `720h`). `None` for anything else (no unit, another unit, zero, a sign, spaces, overflow):
/// a period the provider cannot read is reported as such, never guessed.
pub fn rotation_period_seconds(period: &str) -> Option<i64> {
    let unit = match period.as_bytes().last()? {
        b'd' => 86_400,
        b'h' => 3_600,
        b'm' => 60,
        b's' => 1,
        _ => return None,
    };
    let digits = &period[..period.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)?
        .checked_mul(unit)
}

/// Makes every text field of `secret` inert (see [`text::clean`]) and returns the names of the
/// fields that changed. `description` and `rotation_config` may keep newlines (free text, JSON);
/// everything else is one line.
pub fn clean_secret(secret: &mut Secret) -> Vec<&'static str> {
    let mut altered = Vec::new();
    if text::clean_in_place(&mut secret.name, text::clean_line) {
        altered.push("name");
    }
    for (name, field, clean) in [
        ("id", &mut secret.id, text::clean_line as text::Cleaner),
        ("state", &mut secret.state, text::clean_line),
        ("kms_key_id", &mut secret.kms_key_id, text::clean_line),
        ("description", &mut secret.description, text::clean),
        ("secret_type", &mut secret.secret_type, text::clean_line),
        (
            "rotation_period",
            &mut secret.rotation_period,
            text::clean_line,
        ),
        ("rotation_config", &mut secret.rotation_config, text::clean),
        (
            "enterprise_project_id",
            &mut secret.enterprise_project_id,
            text::clean_line,
        ),
        (
            "rotation_func_urn",
            &mut secret.rotation_func_urn,
            text::clean_line,
        ),
    ] {
        if field
            .as_mut()
            .is_some_and(|f| text::clean_in_place(f, clean))
        {
            altered.push(name);
        }
    }
    let mut events = false;
    for e in secret.event_subscriptions.iter_mut().flatten() {
        events |= text::clean_in_place(e, text::clean_line);
    }
    if events {
        altered.push("event_subscriptions");
    }
    altered
}

/// A ListSecrets response body. There is no `total`: the listing ends when
/// `page_info.next_marker` is empty or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SecretPage {
    /// Required: a 2xx body without it (`{}`, a proxy's JSON) is not a page, and reading it as
    /// an empty one would judge an account as empty.
    pub secrets: Vec<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_info: Option<PageInfo>,
}

/// Where a ListSecrets page stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PageInfo {
    /// The name of the page's last secret when more follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_marker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_count: Option<i64>,
}

impl SecretPage {
    /// The marker of the next page; `None` (the end) when absent or empty.
    pub fn next_marker(&self) -> Option<&str> {
        self.page_info
            .as_ref()?
            .next_marker
            .as_deref()
            .filter(|m| !m.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_below_1e11_are_seconds_above_milliseconds_zero_is_none() {
        assert_eq!(
            rfc3339(Some(1_715_436_899_000)).as_deref(),
            Some("2024-05-11T14:14:59Z")
        );
        assert_eq!(
            rfc3339(Some(1_715_436_899)).as_deref(),
            Some("2024-05-11T14:14:59Z")
        );
        assert_eq!(
            rfc3339(Some(MILLIS_FROM)).as_deref(),
            Some("1973-03-03T09:46:40Z")
        );
        assert_eq!(
            rfc3339(Some(MILLIS_FROM - 1)).as_deref(),
            Some("5138-11-16T09:46:39Z")
        );
        assert_eq!(rfc3339(Some(0)), None);
        assert_eq!(rfc3339(None), None);
        for out_of_range in [i64::MAX, i64::MIN, -99_999_999_999] {
            assert_eq!(rfc3339(Some(out_of_range)), None, "{out_of_range}");
        }
    }

    #[test]
    fn rotation_periods_read_integer_and_unit() {
        for (period, seconds) in [
            ("30d", 2_592_000),
            ("1d", 86_400),
            ("24h", 86_400),
            ("6h", 21_600),
            ("8760h", 31_536_000),
            ("90m", 5_400),
            ("3600s", 3_600),
            ("007d", 604_800),
        ] {
            assert_eq!(rotation_period_seconds(period), Some(seconds), "{period}");
        }
        for bad in [
            "",
            "d",
            "30",
            "30D",
            "30w",
            "0d",
            "-1d",
            "+1d",
            " 30d",
            "30d ",
            "1.5d",
            "3 0d",
            "99999999999999999d",
            "三十d",
        ] {
            assert_eq!(rotation_period_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_page_reads_the_sdk_shape_and_requires_secrets() {
        let p: SecretPage = serde_json::from_str(
            r#"{"secrets":[{"id":"i","name":"db","state":"ENABLED","auto_rotation":true,
                "rotation_period":"30d","create_time":1715436899000,"event_subscriptions":["e"],
                "unknown":[1]}],
                "page_info":{"next_marker":"db","previous_marker":"","current_count":1}}"#,
        )
        .unwrap();
        assert_eq!(p.next_marker(), Some("db"));
        let s = &p.secrets[0];
        assert!(s.rotates());
        assert_eq!(s.rotation_period_seconds(), Some(2_592_000));
        assert_eq!(
            s.event_subscriptions.as_deref(),
            Some(&["e".to_string()][..])
        );
        let last: SecretPage =
            serde_json::from_str(r#"{"secrets":[],"page_info":{"next_marker":""}}"#).unwrap();
        assert_eq!(last.next_marker(), None);
        let nulls: SecretPage = serde_json::from_str(
            r#"{"secrets":[{"name":"n","state":null,"auto_rotation":null,"create_time":null}]}"#,
        )
        .unwrap();
        assert!(!nulls.secrets[0].rotates());
        assert_eq!(nulls.next_marker(), None);
        for not_a_page in ["{}", r#"{"page_info":{}}"#, r#"{"secrets":[["db"]]}"#] {
            assert!(
                serde_json::from_str::<SecretPage>(not_a_page).is_err(),
                "{not_a_page}"
            );
        }
        let err = serde_json::from_str::<Secret>(r#"["db"]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("never by position"), "{err}");
        assert!(
            serde_json::from_str::<Secret>(r#"{"id":"x"}"#).is_err(),
            "no name"
        );
    }

    #[test]
    fn rotates_only_when_enabled_and_automatic() {
        let s = |auto: Option<bool>, state: Option<&str>| Secret {
            auto_rotation: auto,
            state: state.map(str::to_string),
            ..Secret::default()
        };
        assert!(s(Some(true), Some("ENABLED")).rotates());
        for (auto, state) in [
            (Some(false), Some("ENABLED")),
            (None, Some("ENABLED")),
            (Some(true), Some("DISABLED")),
            (Some(true), Some("PENDING_DELETE")),
            (Some(true), Some("enabled")),
            (Some(true), None),
        ] {
            assert!(!s(auto, state).rotates(), "{auto:?} {state:?}");
        }
    }

    #[test]
    fn clean_secret_replaces_controls_and_names_the_fields() {
        let mut s = Secret {
            name: "db\u{1b}[2J".into(),
            description: Some("line one\nline two\u{202e}".into()),
            rotation_period: Some("30d\nError: forged".into()),
            event_subscriptions: Some(vec!["ok".into(), "e\u{7}".into()]),
            ..Secret::default()
        };
        assert_eq!(
            clean_secret(&mut s),
            [
                "name",
                "description",
                "rotation_period",
                "event_subscriptions"
            ]
        );
        assert_eq!(s.name, "db\u{fffd}[2J");
        assert_eq!(s.description.as_deref(), Some("line one\nline two\u{fffd}"));
        assert_eq!(
            s.rotation_period.as_deref(),
            Some("30d\u{fffd}Error: forged")
        );
        assert_eq!(s.rotation_period_seconds(), None);
        assert!(
            clean_secret(&mut s).is_empty(),
            "cleaning twice changes nothing"
        );
    }
}
