//! The credential chain's errors and warnings as diagnostics, each on the argument the user
//! fixes: `profile` or `shared_config_file` for the KooCLI file, `assume_role` for the agency,
//! the missing half of a key pair, and no attribute for "no credentials anywhere", which no
//! single argument can fix.

use crate::csms::credentials::{CredentialError, Warning};
use crate::plugin::{Diagnostic, PathStep};

use super::config::{
    Argument, Origin, ACCESS_KEY, AGENCY_NAME, ASSUME_ROLE, CONFIGURE_TIMEOUT, PROFILE, SECRET_KEY,
    SHARED_CONFIG_FILE,
};

/// `agency_origin`: where `assume_role`'s agency name came from, `None` when the agency is the
/// profile's `agencyName`, so that is where the agency's problems belong. Terraform shows the
/// line of an attribute, not of a block: an agency from the block points at its `agency_name`.
pub fn error(e: &CredentialError, agency_origin: Option<Origin>) -> Diagnostic {
    use CredentialError as E;
    let agency_argument = match agency_origin {
        Some(_) => &ASSUME_ROLE,
        None => &PROFILE,
    };
    let (summary, argument): (String, Option<&Argument>) = match e {
        E::IncompleteKeys { missing, .. } => {
            let argument = if missing.contains("ACCESS") || *missing == ACCESS_KEY.name {
                &ACCESS_KEY
            } else {
                &SECRET_KEY
            };
            (format!("Missing {}", argument.name), Some(argument))
        }
        E::SharedFileMissing { .. }
        | E::SharedFileUnreadable { .. }
        | E::SharedFileMalformed { .. } => (
            "Cannot use the shared configuration file".into(),
            Some(&SHARED_CONFIG_FILE),
        ),
        E::ProfileNotFound { .. }
        | E::NoProfileChosen { .. }
        | E::ProfileWithoutKeys { .. }
        | E::UnsupportedMode { .. } => ("Cannot use the profile".into(), Some(&PROFILE)),
        E::InvalidAgency(_) => ("Invalid assume_role".into(), Some(agency_argument)),
        E::Agency(_) => ("Cannot assume the agency".into(), Some(agency_argument)),
        E::InvalidEndpoint(_) => ("Invalid endpoint for the credentials".into(), None),
        // Reached only through an `ecsAgency` profile: the chain turns a failing metadata
        // service into `NoCredentials` when nothing else was configured.
        E::Metadata(_) => (
            "Cannot get keys from the ECS metadata service".into(),
            Some(&PROFILE),
        ),
        E::NoCredentials(_) => ("No credentials found".into(), None),
        E::TimedOut { .. } => (
            "Credentials not found in time".into(),
            Some(&CONFIGURE_TIMEOUT),
        ),
        E::Cancelled { .. } => ("Configuration cancelled".into(), None),
        E::Expired { .. } => ("Temporary credentials expired".into(), None),
    };
    let diagnostic = Diagnostic::error(summary, sentence(&e.to_string()));
    match argument {
        Some(argument) if argument == &ASSUME_ROLE && agency_origin == Some(Origin::Block) => {
            Diagnostic {
                path: vec![
                    PathStep::Attribute(ASSUME_ROLE.name.into()),
                    PathStep::Index(0),
                    PathStep::Attribute(AGENCY_NAME.name.into()),
                ],
                ..diagnostic
            }
        }
        Some(argument) => diagnostic.at(argument.name),
        None => diagnostic,
    }
}

pub fn warning(w: &Warning) -> Diagnostic {
    let (summary, argument) = match w {
        Warning::SharedFileReadable { .. } => (
            "Shared configuration file readable by others",
            &SHARED_CONFIG_FILE,
        ),
        Warning::SharedFileNotRead { .. } => ("Shared configuration file not read", &PROFILE),
    };
    Diagnostic::warning(summary, sentence(&w.to_string())).at(argument.name)
}

/// The chain's messages are clauses (`"the shared configuration file ... does not exist"`);
/// diagnostics are sentences.
fn sentence(text: &str) -> String {
    let mut out = super::diagnostics::capitalize(text);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csms::credentials::{MetadataError, NoCredentials};
    use crate::plugin::PathStep;

    fn path(d: &Diagnostic) -> Option<&str> {
        match d.path.first() {
            Some(PathStep::Attribute(a)) => Some(a),
            _ => None,
        }
    }

    #[test]
    fn each_error_lands_on_the_argument_to_fix() {
        let incomplete = CredentialError::IncompleteKeys {
            origin: "the environment",
            present: "HW_ACCESS_KEY",
            missing: "HW_SECRET_KEY",
        };
        let d = error(&incomplete, None);
        assert_eq!(
            (d.summary.as_str(), path(&d)),
            ("Missing secret_key", Some("secret_key"))
        );
        assert!(d.detail.starts_with("HW_ACCESS_KEY is set"), "{}", d.detail);
        let missing_file = CredentialError::SharedFileMissing {
            path: "/nowhere/config.json".into(),
        };
        assert_eq!(
            path(&error(&missing_file, None)),
            Some("shared_config_file")
        );
        let profile = CredentialError::ProfileNotFound {
            path: "/f".into(),
            profile: "prod".into(),
            available: vec!["dev".into()],
        };
        assert_eq!(path(&error(&profile, Some(Origin::Block))), Some("profile"));
        let agency = CredentialError::InvalidAgency("agency_name is empty".into());
        let by_env = error(
            &agency,
            Some(Origin::Environment("HW_ASSUME_ROLE_AGENCY_NAME")),
        );
        assert_eq!(by_env.path, [PathStep::Attribute("assume_role".into())]);
        assert_eq!(
            error(&agency, Some(Origin::Block)).path,
            [
                PathStep::Attribute("assume_role".into()),
                PathStep::Index(0),
                PathStep::Attribute("agency_name".into())
            ]
        );
        assert_eq!(path(&error(&agency, None)), Some("profile"));
        let none = CredentialError::from(NoCredentials {
            default_shared_file: None,
            metadata: MetadataError::Unreachable {
                endpoint: "http://127.0.0.1:1".into(),
                message: "connection refused".into(),
                timeout: false,
            },
        });
        let d = error(&none, None);
        assert_eq!(
            (d.summary.as_str(), path(&d)),
            ("No credentials found", None)
        );
        assert!(
            d.detail.starts_with("No credentials found. Tried"),
            "{}",
            d.detail
        );
    }
}
