//! What every data source of this provider reads the same way: the `region` override, the
//! conventional `timeouts { read = "5m" }` block (in the shape of
//! terraform-plugin-framework-timeouts, so users write what they write for every other
//! provider) and their echo in the state, and [`Block::read`], which checks a block against its
//! schema and reads it once for validate and read alike.
//!
//! A data source's schema is its own attributes plus [`common_attributes`]; its validation is
//! the validators declared in that schema plus what its `own` reader truly adds.

use std::time::Duration;

use crate::csms::config::DEFAULT_DEADLINE;
use crate::csms::task::valid_secret_name;
use crate::plugin::validate::{self, Rule, Validator};
use crate::plugin::{
    Attr, AttrType, Attribute, BlockNesting, Diagnostic, Input, ObjectWriter, Schema, Type, Usage,
    Value,
};

/// The `region` override's name.
pub const REGION: &str = "region";
/// The timeouts block's name, as the framework names it.
pub const TIMEOUTS: &str = "timeouts";

/// The attributes every data source has, to append to its own.
pub fn common_attributes() -> [Attribute; 2] {
    [region(), timeouts()]
}

fn region() -> Attribute {
    Attribute::new(
        REGION,
        AttrType::Plain(Type::String),
        Usage::Optional,
        "Region to read, e.g. `eu-west-101`, instead of the provider's: `for_each` over regions \
         with one provider block. The region's project is looked up through IAM (once per region), \
         as the provider's credentials; the provider's `project_id` applies to its own region only.",
    )
    .validate(Validator::Rule(Rule {
        prose: "Lower-case letters, digits, `-` and `_`, as region names are.",
        check: super::config::check_region,
    }))
}

fn timeouts() -> Attribute {
    Attribute::new(
        TIMEOUTS,
        AttrType::Block(
            BlockNesting::Single,
            vec![Attribute::new(
                "read",
                AttrType::Plain(Type::String),
                Usage::Optional,
                "Longest time one read may take, every page and retry included. Default `\"5m\"`. Each \
                 request also has its own bounds (see the provider's documentation), so an endpoint that \
                 does not answer fails a read long before this.",
            )
            .validate(Validator::Duration { allow_zero: false })],
        ),
        Usage::Optional,
        "Time bounds of this data source, in the block Terraform providers conventionally take \
         (`timeouts { read = \"10m\" }`).",
    )
}

/// A CSMS secret name, for any attribute that names secrets (a string, or each element of a
/// list or set).
pub const SECRET_NAME: Rule = Rule {
    prose: "1 to 64 characters of `a-z A-Z 0-9 . _ -`.",
    check: check_secret_name,
};

fn check_secret_name(name: &str) -> Result<(), String> {
    if valid_secret_name(name) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a secret name: CSMS secret names are 1 to 64 characters of letters, digits, \
             `.`, `_` and `-`."
        ))
    }
}

/// A configured `read`: as written (echoed in the state) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTimeout {
    pub written: String,
    pub duration: Duration,
}

/// The timeouts block as configured: a block without `read` has `read: None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeoutsBlock {
    pub read: Option<ReadTimeout>,
}

/// A data source block, checked and read: the data source's own part `T` and the common one.
#[derive(Debug, Clone, PartialEq)]
pub struct Block<T> {
    pub own: T,
    /// The `region` override; `None`: the provider's region.
    pub region: Option<String>,
    /// `None` without a timeouts block.
    pub timeouts: Option<TimeoutsBlock>,
}

impl<T> Block<T> {
    /// Checks `config` against `schema`, every error at once and each on its attribute path,
    /// then reads the common attributes and, with `own`, the data source's. `own` runs only on
    /// a block that passed its validators and returns what no validator can say. Unknown values
    /// (validate may see them; a read never does) skip their checks and read as unknown. No
    /// request is ever sent for a block that fails here.
    pub fn read(
        schema: &Schema,
        config: &Value,
        own: impl FnOnce(&Input<'_>) -> Result<T, Vec<Diagnostic>>,
    ) -> Result<Block<T>, Vec<Diagnostic>> {
        let diags = validate::check(schema, config);
        if !diags.is_empty() {
            return Err(diags);
        }
        let input = Input::new(schema, config);
        Ok(Block {
            own: own(&input)?,
            region: input.string(REGION)?.set(),
            timeouts: read_timeouts(&input)?,
        })
    }

    /// Checks a block for Terraform's validate call: the errors, or the warning of a `region`
    /// this provider does not know.
    pub fn validate(
        schema: &Schema,
        config: &Value,
        own: impl FnOnce(&Input<'_>) -> Result<T, Vec<Diagnostic>>,
    ) -> Vec<Diagnostic> {
        match Block::read(schema, config, own) {
            Ok(block) => block
                .region
                .and_then(|r| super::config::unknown_region(&r, REGION))
                .into_iter()
                .collect(),
            Err(diags) => diags,
        }
    }

    /// The read's bound: the configured `timeouts.read`, else the default.
    pub fn deadline(&self) -> Duration {
        self.timeouts
            .as_ref()
            .and_then(|t| t.read.as_ref())
            .map_or(DEFAULT_DEADLINE, |r| r.duration)
    }

    /// Writes the common attributes into the state as the configuration wrote them: Terraform
    /// requires the state's arguments to be the configuration's, to the character.
    pub fn echo(&self, o: &mut ObjectWriter<'_, '_>) {
        o.string(REGION, self.region.as_deref());
        o.block(
            TIMEOUTS,
            self.timeouts.as_ref().map(|t| {
                |o: &mut ObjectWriter| o.string("read", t.read.as_ref().map(|r| r.written.as_str()))
            }),
        );
    }
}

/// The timeouts block of a validated configuration. An unknown block or `read` counts as unset.
fn read_timeouts(input: &Input<'_>) -> Result<Option<TimeoutsBlock>, Vec<Diagnostic>> {
    let Attr::Set(block) = input.object(TIMEOUTS)? else {
        return Ok(None);
    };
    let read = match (block.string("read")?, block.duration("read")?) {
        (Attr::Set(written), Attr::Set(duration)) => Some(ReadTimeout { written, duration }),
        _ => None,
    };
    Ok(Some(TimeoutsBlock { read }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::{PathStep, State};

    /// The default as the description writes it.
    const DEFAULT_WRITTEN: &str = "5m";

    fn schema() -> Schema {
        Schema {
            version: 0,
            description: "d",
            attributes: common_attributes().into(),
        }
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    fn read(pairs: &[(&str, Value)]) -> Result<Block<()>, Vec<Diagnostic>> {
        Block::read(&schema(), &schema().config(pairs), |_| Ok(()))
    }

    fn read_timeout(read: Value) -> Value {
        Value::object([("read", read)])
    }

    #[test]
    fn the_timeouts_block_reads_as_configured_and_bad_values_point_at_read() {
        assert_eq!(read(&[]).unwrap().timeouts, None);
        assert_eq!(read(&[(TIMEOUTS, Value::Unknown)]).unwrap().timeouts, None);
        for unset in [Value::Unknown, Value::Null] {
            assert_eq!(
                read(&[(TIMEOUTS, read_timeout(unset))]).unwrap().timeouts,
                Some(TimeoutsBlock { read: None })
            );
        }
        let block = read(&[(TIMEOUTS, read_timeout(s("90s")))]).unwrap();
        assert_eq!(
            block.timeouts.as_ref().unwrap().read,
            Some(ReadTimeout {
                written: "90s".into(),
                duration: Duration::from_secs(90)
            })
        );
        assert_eq!(block.deadline(), Duration::from_secs(90));
        for bad in ["5 minutes", "0s", "-1m"] {
            let diags = read(&[(TIMEOUTS, read_timeout(s(bad)))]).unwrap_err();
            assert_eq!(diags.len(), 1, "{diags:?}");
            assert_eq!(diags[0].summary, "Invalid timeouts.read");
            assert_eq!(
                diags[0].path,
                [
                    PathStep::Attribute("timeouts".into()),
                    PathStep::Attribute("read".into())
                ],
                "{bad}"
            );
            assert!(
                diags[0].detail.contains(&format!("{bad:?}")),
                "{}",
                diags[0].detail
            );
        }
    }

    #[test]
    fn region_is_checked_like_the_providers() {
        let diags = read(&[(REGION, s("EU West"))]).unwrap_err();
        assert_eq!(diags[0].path, [PathStep::Attribute("region".into())]);
        assert_eq!(
            read(&[(REGION, s("eu-west-101"))]).unwrap().region,
            Some("eu-west-101".into())
        );
        assert_eq!(read(&[(REGION, Value::Unknown)]).unwrap().region, None);
    }

    /// The validators' errors come together, and `own` is not asked about a failing block.
    #[test]
    fn every_error_at_once_and_own_only_on_a_valid_block() {
        let diags = Block::read(
            &schema(),
            &schema().config(&[(REGION, s("EU West")), (TIMEOUTS, read_timeout(s("soon")))]),
            |_| -> Result<(), Vec<Diagnostic>> { panic!("own read of an invalid block") },
        )
        .unwrap_err();
        assert_eq!(diags.len(), 2, "{diags:?}");
        let own = Block::<()>::read(&schema(), &schema().config(&[]), |_| {
            Err(vec![Diagnostic::error("Own", "d")])
        });
        assert_eq!(own.unwrap_err()[0].summary, "Own");
    }

    #[test]
    fn the_state_echoes_the_block_as_configured() {
        let echoed = |pairs: &[(&str, Value)]| {
            let block = read(pairs).unwrap();
            let state = State::write(&schema(), |o| block.echo(o)).unwrap();
            crate::plugin::codec::decode_msgpack(state.as_bytes()).unwrap()
        };
        let none = echoed(&[]);
        assert_eq!(none.get(TIMEOUTS), &Value::Null);
        assert_eq!(none.get(REGION), &Value::Null);
        let empty = echoed(&[(TIMEOUTS, read_timeout(Value::Null))]);
        assert_eq!(empty.get(TIMEOUTS), &Value::object([("read", Value::Null)]));
        let set = echoed(&[
            (TIMEOUTS, read_timeout(s("1h30m"))),
            (REGION, s("eu-west-101")),
        ]);
        assert_eq!(set.get(TIMEOUTS).get("read"), &s("1h30m"));
        assert_eq!(set.get(REGION), &s("eu-west-101"));
    }

    #[test]
    fn the_documented_default_is_the_one_applied() {
        assert_eq!(read(&[]).unwrap().deadline(), DEFAULT_DEADLINE);
        assert_eq!(
            read(&[(TIMEOUTS, read_timeout(Value::Null))])
                .unwrap()
                .deadline(),
            DEFAULT_DEADLINE
        );
        assert_eq!(
            crate::plugin::duration::parse(DEFAULT_WRITTEN),
            Ok(DEFAULT_DEADLINE)
        );
        let AttrType::Block(_, children) = timeouts().ty else {
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
