//! The Registry pages in `docs/` are generated, never hand-edited: these tests fail when the
//! committed pages differ from what `cargo run --bin csms-docs` would write, and when any
//! attribute (nested fields included) lacks the description those pages are made of.
//! No network, no Terraform: they run in well under a second.

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
