//! Diagnostics: what the provider tells the user. The server converts them to tfplugin6
//! diagnostics; the attribute path lets Terraform underline the offending line.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Attribute(String),
    Key(String),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Short, like a title: "Invalid status".
    pub summary: String,
    /// Full sentences: the cause and what to do.
    pub detail: String,
    pub path: Vec<PathStep>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: Vec::new(),
        }
    }
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            path: Vec::new(),
        }
    }
    /// Points the diagnostic at a top-level attribute.
    pub fn at(mut self, attribute: &str) -> Self {
        self.path = vec![PathStep::Attribute(attribute.to_string())];
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any diagnostic is an error: Terraform then ignores the response's value.
pub fn has_error(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}
