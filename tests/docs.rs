//! The Registry pages in `docs/` are generated, never hand-edited: these tests fail when the
//! committed pages differ from what `cargo run --bin csms-docs` would write, and when any
//! attribute (nested fields included) lacks the description those pages are made of.
//! No network, no Terraform: they run in well under a second.

use crate::common::markdown;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use csms_provider::docs::{self, Drift};
use csms_provider::plugin::{Attribute, Provider, Value};
use csms_provider::provider::{config, CsmsProvider};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Proves the committed docs are exactly what the generator writes from today's schema and
/// examples (the CI check tfplugindocs users run as `generate` + `git diff --exit-code`).
#[test]
fn committed_docs_match_the_generator() {
    let pages = docs::generate(&CsmsProvider::default(), root()).expect("docs generate");
    let drift = docs::check(root(), &pages).expect("docs check");
    let report: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert!(
        drift.is_empty(),
        "docs/ is out of date; run `{}` and commit docs/:\n{}",
        docs::COMMAND,
        report.join("\n")
    );
}

/// Proves every attribute of the provider block and of every data source, nested fields
/// included, carries a description (the Registry page, `providers schema -json` and editor
/// hovers all show it), and so does every block.
#[test]
fn every_attribute_and_nested_field_has_a_description() {
    fn walk(attributes: &[Attribute], prefix: &str, seen: &mut usize, missing: &mut Vec<String>) {
        for a in attributes {
            *seen += 1;
            let path = format!("{prefix}.{}", a.name);
            if a.description.trim().is_empty() {
                missing.push(path.clone());
            }
            if let Some(children) = a.ty.children() {
                assert!(!children.is_empty(), "{path} nests no attributes");
                walk(children, &path, seen, missing);
            }
        }
    }
    let provider = CsmsProvider::default();
    let mut blocks = vec![("provider".to_string(), provider.schema())];
    blocks.extend(
        provider
            .data_sources()
            .iter()
            .map(|d| (d.type_name().to_string(), d.schema())),
    );
    let (mut seen, mut missing) = (0, Vec::new());
    for (name, schema) in &blocks {
        if schema.description.trim().is_empty() {
            missing.push(name.clone());
        }
        walk(&schema.attributes, name, &mut seen, &mut missing);
    }
    assert!(
        seen > config::ARGUMENTS.len(),
        "walked only {seen} attributes"
    );
    assert!(
        missing.is_empty(),
        "attributes without a description: {missing:?}"
    );
    for (name, schema) in &blocks {
        assert!(
            docs::undocumented(schema).is_empty(),
            "the generator's own check disagrees for {name}"
        );
    }
}

/// Proves each argument is read from the environment variable the docs name for it (the table
/// and the descriptions are derived from `config::ARGUMENTS`, so this checks the reading side).
#[test]
fn every_argument_is_read_from_its_documented_variable() {
    let page = std::fs::read_to_string(root().join("docs/index.md")).unwrap();
    for (path, env) in config::ARGUMENTS
        .iter()
        .flat_map(config::Argument::environment)
    {
        assert!(
            page.contains(&format!("| `{path}` | `{env}` |")),
            "docs/index.md lacks the row of `{path}`"
        );
    }
    for argument in config::ARGUMENTS.iter().flat_map(config::Argument::leaves) {
        let value = match argument.check {
            config::Check::Flag => "true",
            config::Check::Retries => "3",
            config::Check::AgencyDuration => "900",
            config::Check::SigningAlgorithm => "HmacSM3",
            config::Check::BaseUrl => "http://127.0.0.1:1",
            config::Check::Duration => "30s",
            _ => "cn-north-4",
        };
        let env = |var: &str| (var == argument.env).then(|| value.to_string());
        let mut diags = Vec::new();
        // No provider block: every argument null, as Terraform sends an absent block.
        let settings = config::Settings::read(&Value::Null, &env, &mut diags);
        assert!(diags.is_empty(), "{}: {diags:?}", argument.name);
        assert_eq!(
            settings.origin(argument),
            Some(config::Origin::Environment(argument.env)),
            "`{}` from {}",
            argument.name,
            argument.env
        );
    }
}

/// Proves the pages have the sections the Registry and the design promise.
#[test]
fn pages_have_the_registry_sections() {
    let pages = docs::generate(&CsmsProvider::default(), root()).expect("docs generate");
    let page = |path: &str| {
        &pages
            .iter()
            .find(|p| p.path == Path::new(path))
            .expect(path)
            .content
    };
    let index = page("docs/index.md");
    for needle in [
        "---\n# generated by",
        "page_title: \"csms Provider\"",
        "## Example Usage\n\n```terraform\n",
        "## Authentication",
        "| `secret_key` | `HW_SECRET_KEY` |",
        "### Optional",
        "- `secret_key` (String, Sensitive) ",
        "- `security_token` (String, Sensitive) ",
    ] {
        assert!(index.contains(needle), "docs/index.md lacks {needle:?}");
    }
    let ds = page("docs/data-sources/rotation_tasks.md");
    for needle in [
        "page_title: \"csms_rotation_tasks Data Source - terraform-provider-csms\"",
        "# csms_rotation_tasks (Data Source)",
        "## Example Usage\n\n```terraform\n",
        "## Usage with Postcondition",
        "postcondition {",
        "## Usage with Check",
        "check \"",
        "### Optional\n\n- `page_size` (Number)",
        "### Read-Only",
        "- `tasks` (Attributes List) ",
        "- `latest` (Attributes Map) ",
        "<a id=\"nestedatt--tasks\"></a>\n### Nested Schema for `tasks`\n\nRead-Only:\n\n",
        "<a id=\"nestedatt--latest\"></a>\n### Nested Schema for `latest`",
        "- `created_at` (String) ",
    ] {
        assert!(
            ds.contains(needle),
            "docs/data-sources/rotation_tasks.md lacks {needle:?}"
        );
    }
}

/// The `##` sections the generator writes, in the order it writes them: a page has some of
/// them, `Example Usage` first and `Schema` last, so a line that a renderer turns into a heading
/// by accident (an HCL comment outside its fence) shows up.
const SECTIONS: &[&str] = &[
    "Example Usage",
    "Authentication",
    "Usage with Postcondition",
    "Usage with Check",
    "Large Accounts: a Window and a Freshness Check",
    "Schema",
];

/// Pages whose examples give them every section they can have.
const OUTLINES: &[(&str, &[&str])] = &[
    (
        "docs/index.md",
        &["Example Usage", "Authentication", "Schema"],
    ),
    (
        "docs/data-sources/rotation_tasks.md",
        &[
            "Example Usage",
            "Usage with Postcondition",
            "Usage with Check",
            "Large Accounts: a Window and a Freshness Check",
            "Schema",
        ],
    ),
];

/// Panics unless `page` renders as one `#` title over sections that never skip a level, with
/// every code block fenced, labelled and closed.
fn assert_renders_cleanly(name: &str, page: &markdown::Page) {
    for code in &page.code {
        assert!(
            code.fenced,
            "{name}:{}: an indented code block (a literal indented by its generator?):\n{}",
            code.line, code.text
        );
        assert!(
            code.closed,
            "{name}:{}: a fence that is never closed swallows the rest of the page",
            code.line
        );
        assert!(
            !code.info.is_empty(),
            "{name}:{}: a fence without a language",
            code.line
        );
    }
    let headings = page.headings();
    let titles: Vec<&str> = headings
        .iter()
        .filter(|(l, _)| *l == 1)
        .map(|h| h.1)
        .collect();
    assert_eq!(titles.len(), 1, "{name}: `#` headings {titles:?}");
    assert!(
        matches!(
            page.blocks.first(),
            Some(markdown::Block::Heading { level: 1, .. })
        ),
        "{name} does not open with its title: {:?}",
        page.blocks.first()
    );
    for pair in headings.windows(2) {
        assert!(
            pair[1].0 <= pair[0].0 + 1,
            "{name}: {:?} skips a level after {:?}",
            pair[1],
            pair[0]
        );
    }
}

/// Attribute names listed (``- `name` (Type) ...``) in a Schema list.
fn listed_names(items: &[String]) -> BTreeSet<String> {
    items
        .iter()
        .map(|item| {
            let name = item
                .strip_prefix('`')
                .and_then(|r| r.split_once("` ("))
                .map(|(n, _)| n);
            name.unwrap_or_else(|| panic!("a Schema list item that names no attribute: {item:?}"))
                .to_string()
        })
        .collect()
}

/// Panics unless the page's `## Schema` section parses into headings and lists naming exactly the
/// attributes of `schema`: the top level under `### Required` / `### Optional` / `### Read-Only`,
/// and each nested attribute's under its `### Nested Schema for `path``.
fn assert_schema_section(
    name: &str,
    page: &markdown::Page,
    schema: &csms_provider::plugin::Schema,
) {
    fn expected(
        attributes: &[Attribute],
        path: &str,
        out: &mut BTreeMap<String, BTreeSet<String>>,
    ) {
        out.insert(
            path.to_string(),
            attributes.iter().map(|a| a.name.to_string()).collect(),
        );
        for a in attributes {
            if let Some(children) = a.ty.children() {
                let child = if path.is_empty() {
                    a.name.to_string()
                } else {
                    format!("{path}.{}", a.name)
                };
                expected(children, &child, out);
            }
        }
    }
    let mut want = BTreeMap::new();
    expected(&schema.attributes, "", &mut want);

    let start = page
        .blocks
        .iter()
        .position(
            |b| matches!(b, markdown::Block::Heading { level: 2, text, .. } if text == "Schema"),
        )
        .unwrap_or_else(|| panic!("{name}: no `## Schema` heading"));
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for block in &page.blocks[start + 1..] {
        match block {
            markdown::Block::Heading { level: 3, text, .. } => {
                section = Some(match text.as_str() {
                    "Required" | "Optional" | "Read-Only" => String::new(),
                    other => other
                        .strip_prefix("Nested Schema for `")
                        .and_then(|r| r.strip_suffix('`'))
                        .unwrap_or_else(|| panic!("{name}: unexpected Schema heading {other:?}"))
                        .to_string(),
                });
            }
            markdown::Block::Heading { level, text, .. } => {
                panic!("{name}: heading {level} {text:?} inside the Schema section")
            }
            markdown::Block::List { items, line } => {
                let path = section
                    .clone()
                    .unwrap_or_else(|| panic!("{name}:{line}: a list before any Schema heading"));
                let names = listed_names(items);
                let entry = found.entry(path).or_default();
                assert!(
                    entry.is_disjoint(&names),
                    "{name}:{line}: attributes listed twice"
                );
                entry.extend(names);
            }
            markdown::Block::Other { token, line } => assert!(
                ["paragraph", "html_block"].contains(&token.as_str()),
                "{name}:{line}: a {token} inside the Schema section"
            ),
        }
    }
    assert_eq!(
        found, want,
        "{name}: the Schema section's lists against the schema"
    );
}

/// Proves every generated page parses, with a real CommonMark parser, into the outline the
/// generator means: one title, the sections of [`SECTIONS`] in order, every code block fenced and
/// closed, and a `## Schema` made of headings and lists naming exactly the schema's attributes.
/// The hand-written pages (README, guides) must at least render cleanly.
#[tokio::test]
async fn pages_render_as_commonmark_with_the_intended_structure() {
    let provider = CsmsProvider::default();
    let pages = docs::generate(&provider, root()).expect("docs generate");
    let mut schemas = vec![("docs/index.md".to_string(), provider.schema())];
    schemas.extend(provider.data_sources().iter().map(|d| {
        let short = d.type_name().trim_start_matches("csms_");
        (format!("docs/data-sources/{short}.md"), d.schema())
    }));
    for generated in &pages {
        let name = generated.path.to_string_lossy();
        let page = markdown::parse(&generated.content).await;
        assert_renders_cleanly(&name, &page);
        let sections: Vec<&str> = page
            .headings()
            .into_iter()
            .filter(|h| h.0 == 2)
            .map(|h| h.1)
            .collect();
        let mut known = SECTIONS.iter();
        assert!(
            sections.iter().all(|s| known.any(|k| k == s)),
            "{name}: `##` sections {sections:?}, not in the generator's order {SECTIONS:?}"
        );
        assert_eq!(sections.first(), Some(&"Example Usage"), "{name}");
        assert_eq!(sections.last(), Some(&"Schema"), "{name}");
        if let Some((_, outline)) = OUTLINES.iter().find(|(p, _)| *p == name) {
            assert_eq!(&sections, outline, "{name}: `##` sections");
        }
        let (_, schema) = schemas
            .iter()
            .find(|(p, _)| *p == name)
            .expect("a schema per page");
        assert_schema_section(&name, &page, schema);
    }
    let mut written = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(root().join(docs::GUIDES)).expect("read guides") {
        written.push(entry.expect("dir entry").path());
    }
    for path in written {
        let text = std::fs::read_to_string(root().join(&path)).expect("read page");
        assert_renders_cleanly(&path.to_string_lossy(), &markdown::parse(&text).await);
    }
}

/// A copy of the project's examples and docs in a temporary directory, for the binary to
/// check and rewrite without touching the tree.
fn scratch_root() -> tempfile::TempDir {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("dir entry");
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&root().join("examples"), &dir.path().join("examples"));
    copy_dir(&root().join("docs"), &dir.path().join("docs"));
    dir
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn csms_docs(args: &[&str], root: &Path) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_csms-docs"))
        .args(args)
        .arg("--root")
        .arg(root)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("csms-docs finished within 30 s")
        .expect("csms-docs started");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Proves `csms-docs --check` exits 1 and names the file and line when a page was edited by
/// hand or a stray page exists, and that `csms-docs` (without `--check`) repairs the edit.
#[tokio::test]
async fn csms_docs_check_reports_drift_and_regeneration_repairs_it() {
    let dir = scratch_root();
    let root = dir.path();
    let ok = csms_docs(&["--check"], root).await;
    assert_eq!(
        ok.code,
        Some(0),
        "check of a fresh copy: {}{}",
        ok.stdout,
        ok.stderr
    );

    let page: PathBuf = root.join("docs/data-sources/rotation_tasks.md");
    let text = std::fs::read_to_string(&page).expect("read page");
    std::fs::write(&page, text.replacen("### Read-Only", "### Computed", 1)).expect("edit page");
    std::fs::write(root.join("docs/data-sources/old.md"), "# gone\n").expect("stray page");
    let drift = csms_docs(&["--check"], root).await;
    assert_eq!(
        drift.code,
        Some(1),
        "check of an edited copy: {}{}",
        drift.stdout,
        drift.stderr
    );
    for needle in [
        "docs/data-sources/rotation_tasks.md: 1 line(s) differ",
        "\"### Computed\"",
        "docs/data-sources/old.md",
        docs::COMMAND,
    ] {
        assert!(
            drift.stderr.contains(needle),
            "--check output lacks {needle:?}:\n{}",
            drift.stderr
        );
    }
    // `Drift` is what the binary prints; the library reports the same.
    let pages = docs::generate(&CsmsProvider::default(), root).expect("generate");
    let found = docs::check(root, &pages).expect("check");
    assert!(
        found.contains(&Drift::Stale(PathBuf::from("docs/data-sources/old.md"))),
        "{found:?}"
    );

    let write = csms_docs(&[], root).await;
    assert_eq!(
        write.code,
        Some(0),
        "regenerate: {}{}",
        write.stdout,
        write.stderr
    );
    assert!(
        write
            .stdout
            .contains("wrote docs/data-sources/rotation_tasks.md"),
        "{}",
        write.stdout
    );
    std::fs::remove_file(root.join("docs/data-sources/old.md")).expect("remove stray page");
    let repaired = csms_docs(&["--check"], root).await;
    assert_eq!(
        repaired.code,
        Some(0),
        "check after regenerating: {}{}",
        repaired.stdout,
        repaired.stderr
    );
}
