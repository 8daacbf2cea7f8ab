//! The Registry documentation (`docs/`), generated from the provider's own schemas and the HCL
//! in `examples/`, in the format `tfplugindocs` writes for HashiCorp's providers (front matter,
//! description, examples, `## Schema` with Required / Optional / Read-Only and a section per
//! nested attribute). Descriptions live once, in the schema: Terraform shows them in
//! `providers schema -json`, editors show them on hover, and these pages show them here.
//!
//! `cargo run --bin csms-docs` writes the pages; `--check` (and `tests/docs.rs`) fails when the
//! committed pages differ from what the code would generate, so the docs cannot drift.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::plugin::{AttrType, Attribute, BlockNesting, Nesting, Provider, Schema, Type, Usage};
use crate::provider::config;

/// The command that regenerates the pages, named in their front matter and in drift reports.
pub const COMMAND: &str = "cargo run --bin csms-docs";

/// Hand-written Registry guides: the generator neither writes nor checks the pages under it,
/// as tfplugindocs leaves `docs/guides/` to the provider's authors.
pub const GUIDES: &str = "docs/guides";

/// The binary users install; `page_title`s name it as tfplugindocs does.
const BINARY: &str = "terraform-provider-csms";

/// One generated file: its path relative to the project root (`docs/index.md`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub path: PathBuf,
    pub content: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Registry pages without descriptions help no one; the generator refuses to write them.
    #[error("attributes without a description: {}", .0.join(", "))]
    Undocumented(Vec<String>),
}

/// Renders every page: `docs/index.md` for the provider and `docs/data-sources/<name>.md` for
/// each data source, reading the examples under `root/examples`.
pub fn generate<P: Provider>(provider: &P, root: &Path) -> Result<Vec<Page>, Error> {
    let provider_schema = provider.schema();
    let data_sources: Vec<(&str, Schema)> = provider
        .data_sources()
        .iter()
        .map(|d| (d.type_name(), d.schema()))
        .collect();
    let mut missing = undocumented(&provider_schema)
        .into_iter()
        .map(|p| format!("provider.{p}"))
        .collect::<Vec<_>>();
    for (name, schema) in &data_sources {
        missing.extend(
            undocumented(schema)
                .into_iter()
                .map(|p| format!("{name}.{p}")),
        );
    }
    if !missing.is_empty() {
        return Err(Error::Undocumented(missing));
    }

    let mut pages = vec![Page {
        path: PathBuf::from("docs/index.md"),
        content: provider_page(provider.type_name(), &provider_schema, root)?,
    }];
    for (name, schema) in &data_sources {
        let short = short_name(name, provider.type_name());
        pages.push(Page {
            path: PathBuf::from(format!("docs/data-sources/{short}.md")),
            content: data_source_page(name, schema, root)?,
        });
    }
    Ok(pages)
}

/// Writes `pages` under `root`, returning the paths whose content changed.
pub fn write(root: &Path, pages: &[Page]) -> Result<Vec<PathBuf>, Error> {
    let mut changed = Vec::new();
    for page in pages {
        let path = root.join(&page.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(page.content.as_str()) {
            continue;
        }
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&path, &page.content).map_err(io)?;
        changed.push(page.path.clone());
    }
    Ok(changed)
}

/// How a committed page differs from the generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The generator writes this page but it is not committed.
    Missing(PathBuf),
    /// A Markdown file under `docs/` (outside [`GUIDES`]) the generator does not write, e.g. a
    /// removed data source.
    Stale(PathBuf),
    /// The page differs; `line` is the first differing line (1-based), `lines` how many differ.
    Differs {
        path: PathBuf,
        line: usize,
        lines: usize,
        committed: String,
        generated: String,
    },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing(path) => write!(f, "{}: missing (the generator writes it)", path.display()),
            Drift::Stale(path) => write!(f, "{}: not generated from the schema (remove it?)", path.display()),
            Drift::Differs { path, line, lines, committed, generated } => write!(
                f,
                "{}: {lines} line(s) differ, first at line {line}:\n  committed: {committed}\n  generated: {generated}",
                path.display()
            ),
        }
    }
}

/// Compares the pages under `root` with `pages`; empty when the committed docs are current.
pub fn check(root: &Path, pages: &[Page]) -> Result<Vec<Drift>, Error> {
    let mut drift = Vec::new();
    for page in pages {
        let path = root.join(&page.path);
        let committed = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                drift.push(Drift::Missing(page.path.clone()));
                continue;
            }
            Err(source) => return Err(Error::Io { path, source }),
        };
        if let Some(d) = compare(&page.path, &committed, &page.content) {
            drift.push(d);
        }
    }
    let mut committed = Vec::new();
    markdown_files(root, Path::new("docs"), &mut committed)?;
    for path in committed {
        if !path.starts_with(GUIDES) && !pages.iter().any(|p| p.path == path) {
            drift.push(Drift::Stale(path));
        }
    }
    Ok(drift)
}

fn compare(path: &Path, committed: &str, generated: &str) -> Option<Drift> {
    if committed == generated {
        return None;
    }
    let (old, new): (Vec<&str>, Vec<&str>) =
        (committed.lines().collect(), generated.lines().collect());
    let differing = |i: &usize| old.get(*i) != new.get(*i);
    let count = (0..old.len().max(new.len())).filter(differing).count();
    // Only a trailing newline differs when every line matches.
    let first = (0..old.len().max(new.len()))
        .find(differing)
        .unwrap_or(old.len());
    let show = |lines: &[&str]| {
        lines
            .get(first)
            .map_or("(end of file)".to_string(), |l| format!("{l:?}"))
    };
    Some(Drift::Differs {
        path: path.to_path_buf(),
        line: first + 1,
        lines: count.max(1),
        committed: show(&old),
        generated: show(&new),
    })
}

/// Markdown files under `root/dir`, as paths relative to `root`, sorted.
fn markdown_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let full = root.join(dir);
    let entries = match std::fs::read_dir(&full) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(Error::Io { path: full, source }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: full.clone(),
            source,
        })?;
        names.push((entry.file_name(), entry.path().is_dir()));
    }
    names.sort();
    for (name, is_dir) in names {
        let rel = dir.join(&name);
        if is_dir {
            markdown_files(root, &rel, out)?;
        } else if rel.extension().is_some_and(|e| e == "md") {
            out.push(rel);
        }
    }
    Ok(())
}

/// Dotted paths (`tasks.task_id`) of the attributes, nested ones included, whose description
/// is empty.
pub fn undocumented(schema: &Schema) -> Vec<String> {
    fn walk(attributes: &[Attribute], prefix: &str, out: &mut Vec<String>) {
        for a in attributes {
            let path = format!("{prefix}{}", a.name);
            if a.description.trim().is_empty() {
                out.push(path.clone());
            }
            if let Some(children) = a.ty.children() {
                walk(children, &format!("{path}."), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&schema.attributes, "", &mut out);
    out
}

fn provider_page(type_name: &str, schema: &Schema, root: &Path) -> Result<String, Error> {
    let mut table = String::from("| Argument | Environment variable |\n|---|---|\n");
    for (path, env) in config::ARGUMENTS
        .iter()
        .flat_map(config::Argument::environment)
    {
        table.push_str(&format!("| `{path}` | `{env}` |\n"));
    }
    table.push_str(&format!(
        "| (none: environment only) | `{}` |\n",
        crate::csms::credentials::metadata::ENDPOINT_ENV
    ));
    let example = terraform_file(&root.join("examples/provider/provider.tf"))?;
    let description = schema.description.trim();
    Ok(format!(
        r#"---
{front_matter_comment}
page_title: "{type_name} Provider"
subcategory: ""
description: |-
{plain}
---

# {type_name} Provider

{description}

## Example Usage

{example}

## Authentication

Requests are signed with an access key (AK) and a secret key (SK), the way the Huawei Cloud
SDKs sign them. The provider looks for keys once, when it is configured, in this order, and
uses the first source that has them (the log says which, at INFO level, never the keys):

1. **The provider block**: `access_key` and `secret_key` (and `security_token` for temporary
   keys). Keep them out of the configuration when you can:

   ```terraform
   provider "csms" {{
     region     = "cn-north-4"
     access_key = var.access_key
     secret_key = var.secret_key
   }}
   ```

2. **The environment**: `{ak}` and `{sk}` (and `{token}`).

   ```shell
   export {ak}="your-access-key"
   export {sk}="your-secret-key"
   export {region}="cn-north-4"
   terraform plan
   ```

3. **A KooCLI profile** (`hcloud configure`), read only when `profile` (`{profile}`) or
   `shared_config_file` (`{file}`) is set; the file defaults to `~/.hcloud/config.json` and the
   profile to the file's `current`. Modes `AKSK`, `SSO` (the profile's `ssoAuth.stsToken`) and
   `ecsAgency` (the ECS metadata service below) are supported. A profile's `region` and
   `projectId` fill what the block and environment leave unset, and its `agencyName` with
   `agencyDomainName` is assumed like `assume_role`. KooCLI encrypts stored keys by default:
   run `hcloud configure set --cli-auth-encrypt=false` before configuring the profile.

   ```terraform
   provider "csms" {{
     profile = "audit" # or: export {profile}=audit
   }}
   ```

4. **The ECS metadata service**, only when no keys were found anywhere: on an ECS instance with
   an agency bound to it, temporary keys come from `http://169.254.169.254` (session token
   first) and are renewed before they expire; nothing is stored anywhere. `{metadata}` (an
   environment variable, not an argument) changes the URL, e.g. for a proxy or the emulator.

   ```terraform
   provider "csms" {{
     region = "cn-north-4" # no keys: the instance's agency
   }}
   ```

With no keys in any of them, configuration fails within seconds with one error that lists
every source tried.

**Assuming an agency.** On top of whichever source gave the keys, `assume_role` exchanges them
for the keys of an IAM agency in another account, so a central security team can check the
rotations of many accounts; the project is then looked up as that account. The
`{agency}`, `{domain}` and `{duration}` variables work without a block.

```terraform
provider "csms" {{
  region = "cn-north-4"
  assume_role {{
    agency_name      = "rotation-audit"
    domain_name      = "team-b"
    duration_seconds = 3600 # 900 to 86400
  }}
}}
```

**Signing.** `signing_algorithm = "HmacSM3"` (`{algorithm}`) signs with `SDK-HMAC-SM3` instead of
the default `HmacSHA256`; `EcdsaP256SHA256` and `SM2SM3` are refused at plan time.

**Regions.** `region` picks `https://kms.{{region}}.{{cloud}}` and `https://iam.{{region}}.{{cloud}}`;
`cloud` defaults to `myhuaweicloud.eu` for the European regions (`eu-west-1*`, e.g.
`eu-west-101`) and `myhuaweicloud.com` elsewhere, and an explicit `cloud` wins. A data source's
own `region` reads another region with the same credentials (its project looked up once). The
project ID is looked up by region through IAM unless `project_id` (`{project}`) is set; it
applies to the provider's own region only. The known regions are {regions}. Another region
works too, with a warning at validate time naming the known region it is likely a typo of (a
mistyped region otherwise fails only at the first request, as a host that does not exist). The
`HTTPS_PROXY` and `NO_PROXY` variables apply to every request to CSMS and IAM (not to the
metadata service).

{table}
{schema}"#,
        front_matter_comment = front_matter_comment(),
        plain = prefix_lines(&plain_markdown(description), "  "),
        example = example.unwrap_or_default(),
        ak = config::ACCESS_KEY.env,
        sk = config::SECRET_KEY.env,
        region = config::REGION.env,
        token = config::SECURITY_TOKEN.env,
        project = config::PROJECT_ID.env,
        profile = config::PROFILE.env,
        file = config::SHARED_CONFIG_FILE.env,
        metadata = crate::csms::credentials::metadata::ENDPOINT_ENV,
        agency = config::AGENCY_NAME.env,
        domain = config::DOMAIN_NAME.env,
        duration = config::DURATION_SECONDS.env,
        algorithm = config::SIGNING_ALGORITHM.env,
        regions = crate::csms::regions::KNOWN
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", "),
        schema = render_schema(schema),
    ))
}

fn data_source_page(name: &str, schema: &Schema, root: &Path) -> Result<String, Error> {
    let dir = root.join("examples/data-sources").join(name);
    let mut out = format!(
        "---\n{comment}\npage_title: \"{name} Data Source - {BINARY}\"\nsubcategory: \"\"\ndescription: |-\n{plain}\n---\n\n\
         # {name} (Data Source)\n\n{description}\n\n",
        comment = front_matter_comment(),
        plain = prefix_lines(&plain_markdown(schema.description.trim()), "  "),
        description = schema.description.trim(),
    );
    if let Some(example) = terraform_file(&dir.join("data-source.tf"))? {
        out.push_str(&format!("## Example Usage\n\n{example}\n\n"));
    }
    if let Some(example) = terraform_file(&dir.join("postcondition.tf"))? {
        out.push_str(&format!(
            "## Usage with Postcondition\n\n\
             [Precondition and Postcondition](https://developer.hashicorp.com/terraform/language/expressions/custom-conditions)\n\
             checks are available with Terraform v1.2.0 and later. A failed postcondition stops the plan.\n\n\
             {example}\n\n"
        ));
    }
    if let Some(example) = terraform_file(&dir.join("check.tf"))? {
        out.push_str(&format!(
            "## Usage with Check\n\n\
             [Check blocks](https://developer.hashicorp.com/terraform/language/checks) are available with\n\
             Terraform v1.5.0 and later. A failed assertion is reported as a warning and the plan goes on.\n\n\
             {example}\n\n"
        ));
    }
    if let Some(example) = terraform_file(&dir.join("freshness.tf"))? {
        out.push_str(&format!(
            "## Large Accounts: a Window and a Freshness Check\n\n\
             `since` keeps only recent tasks in `tasks` while `latest` and `latest_success` still cover\n\
             every secret, so the plan stays small and a secret that stopped rotating, or whose rotation\n\
             fails every day, still shows up.\n\n\
             {example}\n\n"
        ));
    }
    out.push_str(&render_schema(schema));
    Ok(out)
}

/// A YAML comment in the front matter, where tfplugindocs puts its own.
fn front_matter_comment() -> String {
    format!("# generated by `{COMMAND}` from the provider schema and examples/; do not edit")
}

/// `csms_rotation_tasks` -> `rotation_tasks`, the Registry's file naming.
fn short_name<'a>(name: &'a str, type_name: &str) -> &'a str {
    name.strip_prefix(type_name)
        .and_then(|s| s.strip_prefix('_'))
        .unwrap_or(name)
}

/// A fenced `terraform` block holding the file (trimmed), as tfplugindocs' `tffile`; `None`
/// when the file does not exist (the section is left out).
fn terraform_file(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(format!("```terraform\n{}\n```", text.trim()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn prefix_lines(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Markdown reduced to plain text for the front matter `description`, as tfplugindocs'
/// `plainmarkdown` does: code spans and emphasis lose their markers, links become
/// `text url`.
pub fn plain_markdown(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(c) = rest.chars().next() {
        if c == '[' {
            if let Some((text, after)) = rest[1..].split_once("](") {
                if let Some((url, tail)) = after.split_once(')') {
                    if !text.contains(']') {
                        out.push_str(&plain_markdown(text));
                        out.push(' ');
                        out.push_str(url);
                        rest = tail;
                        continue;
                    }
                }
            }
        }
        if rest.starts_with("**") || rest.starts_with("__") {
            rest = &rest[2..];
            continue;
        }
        if c != '`' {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The `## Schema` section, exactly as tfplugindocs renders one: top-level attributes grouped
/// into `### Required`, `### Optional` and `### Read-Only`, sorted by name, each as
/// ``- `name` (Type[, Sensitive]) description``; nested attributes link to a
/// `### Nested Schema for `path`` section with `Required:` / `Optional:` / `Read-Only:` lists.
pub fn render_schema(schema: &Schema) -> String {
    let mut out = String::from("<!-- schema generated by csms-docs -->\n## Schema\n\n");
    write_children(&mut out, &[], &schema.attributes, true);
    // tfplugindocs trims the schema markdown; the page ends with one newline.
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

/// tfplugindocs' groups, in this order: (top-level title, nested title).
const GROUPS: [(&str, &str); 3] = [
    ("### Required", "Required:"),
    ("### Optional", "Optional:"),
    ("### Read-Only", "Read-Only:"),
];

/// The index into [`GROUPS`]: optional-and-computed counts as Optional, as in tfplugindocs.
fn group(usage: Usage) -> usize {
    match usage {
        Usage::Required => 0,
        Usage::Optional | Usage::OptionalComputed => 1,
        Usage::Computed => 2,
    }
}

fn write_children(out: &mut String, parents: &[&str], attributes: &[Attribute], root: bool) {
    let mut nested: Vec<(Vec<&str>, &[Attribute])> = Vec::new();
    for (index, (top_title, nested_title)) in GROUPS.into_iter().enumerate() {
        let mut members: Vec<&Attribute> = attributes
            .iter()
            .filter(|a| group(a.usage) == index)
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by_key(|a| a.name);
        out.push_str(if root { top_title } else { nested_title });
        out.push_str("\n\n");
        for a in members {
            let mut path = parents.to_vec();
            path.push(a.name);
            out.push_str(&format!("- `{}` ({}", a.name, type_label(&a.ty)));
            if a.sensitive {
                out.push_str(", Sensitive");
            }
            out.push(')');
            let description = collapse_paragraphs(a.documentation().trim());
            if !description.is_empty() {
                out.push(' ');
                out.push_str(&description);
            }
            if let Some(children) = a.ty.children() {
                out.push_str(&format!(
                    " (see [below for nested schema](#{}))",
                    anchor(&path)
                ));
                nested.push((path, children));
            }
            out.push('\n');
        }
        out.push('\n');
    }
    for (path, children) in nested {
        out.push_str(&format!(
            "<a id=\"{}\"></a>\n### Nested Schema for `{}`\n\n",
            anchor(&path),
            path.join(".")
        ));
        write_children(out, &path, children, false);
        out.push('\n');
    }
}

fn anchor(path: &[&str]) -> String {
    format!("nestedatt--{}", path.join("--"))
}

/// tfplugindocs keeps a description on its list line: blank lines become Markdown line breaks.
fn collapse_paragraphs(text: &str) -> String {
    let mut out = String::new();
    for (i, paragraph) in text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push_str("  \n");
        }
        out.push_str(paragraph.trim_matches('\n'));
    }
    out
}

fn type_label(ty: &AttrType) -> String {
    match ty {
        AttrType::Plain(t) => plain_type(t),
        AttrType::Nested(Nesting::Single, _) => "Attributes".to_string(),
        AttrType::Nested(Nesting::List, _) => "Attributes List".to_string(),
        AttrType::Nested(Nesting::Map, _) => "Attributes Map".to_string(),
        AttrType::Block(BlockNesting::Single, _) => "Block, Optional".to_string(),
        AttrType::Block(BlockNesting::List { max_items }, _) => {
            format!("Block List, Max: {max_items}")
        }
    }
}

fn plain_type(ty: &Type) -> String {
    match ty {
        Type::String => "String".to_string(),
        Type::Number => "Number".to_string(),
        Type::Bool => "Boolean".to_string(),
        Type::List(t) => format!("List of {}", plain_type(t)),
        Type::Set(t) => format!("Set of {}", plain_type(t)),
        Type::Map(t) => format!("Map of {}", plain_type(t)),
        Type::Object(_) => "Object".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(
        name: &'static str,
        ty: AttrType,
        usage: Usage,
        description: &'static str,
    ) -> Attribute {
        Attribute::new(name, ty, usage, description)
    }

    /// The layout tfplugindocs produces (compare its `testdata/deep_nested_attributes.md` and
    /// terraform-provider-http's `docs/resources/http.md`): groups in Required, Optional,
    /// Read-Only order, names sorted, nested sections after the lists with `nestedatt--` anchors.
    #[test]
    fn schema_renders_in_the_tfplugindocs_layout() {
        let schema = Schema {
            version: 0,
            description: "Example.",
            attributes: vec![
                attr(
                    "url",
                    AttrType::Plain(Type::String),
                    Usage::Required,
                    "The URL.",
                ),
                attr(
                    "token",
                    AttrType::Plain(Type::String),
                    Usage::Optional,
                    "A token.",
                )
                .sensitive(),
                attr(
                    "headers",
                    AttrType::Plain(Type::Map(Box::new(Type::String))),
                    Usage::OptionalComputed,
                    "Headers.",
                ),
                attr(
                    "items",
                    AttrType::Nested(
                        Nesting::List,
                        vec![
                            attr(
                                "b",
                                AttrType::Plain(Type::Number),
                                Usage::Computed,
                                "Second.\n\nMore.",
                            ),
                            attr(
                                "a",
                                AttrType::Nested(
                                    Nesting::Single,
                                    vec![attr(
                                        "x",
                                        AttrType::Plain(Type::Bool),
                                        Usage::Computed,
                                        "Deep.",
                                    )],
                                ),
                                Usage::Computed,
                                "First.",
                            ),
                        ],
                    ),
                    Usage::Computed,
                    "Items.",
                ),
                attr(
                    "since",
                    AttrType::Plain(Type::String),
                    Usage::Optional,
                    "Start.",
                )
                .validate(crate::plugin::Validator::Rfc3339),
            ],
        };
        let expected = "\
<!-- schema generated by csms-docs -->
## Schema

### Required

- `url` (String) The URL.

### Optional

- `headers` (Map of String) Headers.
- `since` (String) Start. An RFC 3339 timestamp, e.g. `\"2026-11-01T00:00:00Z\"`.
- `token` (String, Sensitive) A token.

### Read-Only

- `items` (Attributes List) Items. (see [below for nested schema](#nestedatt--items))

<a id=\"nestedatt--items\"></a>
### Nested Schema for `items`

Read-Only:

- `a` (Attributes) First. (see [below for nested schema](#nestedatt--items--a))
- `b` (Number) Second.  \nMore.

<a id=\"nestedatt--items--a\"></a>
### Nested Schema for `items.a`

Read-Only:

- `x` (Boolean) Deep.
";
        assert_eq!(render_schema(&schema), expected);
    }

    #[test]
    fn plain_markdown_drops_markers_and_keeps_link_targets() {
        assert_eq!(
            plain_markdown("Use `latest` with **care**, see [the docs](https://example.com/x)."),
            "Use latest with care, see the docs https://example.com/x."
        );
    }

    #[test]
    fn undocumented_names_nested_paths() {
        let schema = Schema {
            version: 0,
            description: "",
            attributes: vec![attr(
                "tasks",
                AttrType::Nested(
                    Nesting::Map,
                    vec![attr(
                        "id",
                        AttrType::Plain(Type::String),
                        Usage::Computed,
                        " ",
                    )],
                ),
                Usage::Computed,
                "Tasks.",
            )],
        };
        assert_eq!(undocumented(&schema), vec!["tasks.id".to_string()]);
    }

    #[test]
    fn drift_reports_the_first_differing_line() {
        let d = compare(Path::new("docs/x.md"), "a\nb\nc\n", "a\nB\nc\n").expect("differs");
        assert_eq!(
            d,
            Drift::Differs {
                path: PathBuf::from("docs/x.md"),
                line: 2,
                lines: 1,
                committed: "\"b\"".into(),
                generated: "\"B\"".into()
            }
        );
        assert!(compare(Path::new("x"), "a\n", "a\n").is_none());
    }
}
