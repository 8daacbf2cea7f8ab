//! Markdown as a CommonMark renderer (the Registry's included) reads it: `markdown-it-py` in its
//! strict `commonmark` preset, installed by `scripts/venv`. A page that looks right as text but
//! parses into an indented code block, a heading made of an HCL comment or a fence that runs to
//! the end of the file is caught here, where no hand-written line scan would see it.

use serde::Deserialize;

/// A parsed page: its top-level blocks in document order, and every code block at any depth
/// (list items hold some of them).
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub blocks: Vec<Block>,
    pub code: Vec<Code>,
}

/// One top-level block.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// `#`..`######` or a setext heading; `text` is its inline source.
    Heading {
        level: u8,
        text: String,
        line: usize,
    },
    /// A bullet or ordered list; `items` holds each item's first paragraph (inline source).
    List { items: Vec<String>, line: usize },
    /// Anything else (paragraphs, fences, tables, HTML, rules), by markdown-it's token type.
    Other { token: String, line: usize },
}

/// A code block anywhere in the page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Code {
    /// The fence's info string (`terraform`); empty for an indented block.
    pub info: String,
    /// False for an indented code block, which these pages never intend.
    pub fenced: bool,
    /// False when the fence runs to the end of the page, swallowing what follows.
    pub closed: bool,
    pub line: usize,
    pub text: String,
}

/// Parses `text` as CommonMark, after the YAML front matter, which the Registry strips before
/// rendering; lines are 1-based in `text`.
pub async fn parse(text: &str) -> Page {
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("page.md");
    std::fs::write(&page, text).expect("write page");
    let value = super::sdk::run_script(SCRIPT, &[page.to_str().expect("UTF-8 path")]).await;
    serde_json::from_value(value).expect("the parser's blocks")
}

impl Page {
    /// The headings as `(level, text)`.
    pub fn headings(&self) -> Vec<(u8, &str)> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading { level, text, .. } => Some((*level, text.as_str())),
                _ => None,
            })
            .collect()
    }
}

const SCRIPT: &str = r#"
import json, sys
from markdown_it import MarkdownIt

source = open(sys.argv[1], encoding="utf-8").read()
lines = source.split("\n")
offset = 0
if lines and lines[0] == "---":
    end = lines.index("---", 1)
    offset = end + 1
    source = "\n".join(lines[offset:])
    lines = lines[offset:]

tokens = MarkdownIt("commonmark").parse(source)

def line(token):
    return token.map[0] + 1 + offset

def closed(token):
    last = lines[token.map[1] - 1].strip() if token.map[1] - 1 < len(lines) else ""
    marker = token.markup
    return token.map[1] - token.map[0] >= 2 and last.startswith(marker) and last.strip(marker[0]) == ""

code = [
    {"info": t.info, "fenced": t.type == "fence", "closed": t.type != "fence" or closed(t), "line": line(t), "text": t.content}
    for t in tokens if t.type in ("fence", "code_block")
]

blocks, i = [], 0
while i < len(tokens):
    t = tokens[i]
    if t.type == "heading_open":
        blocks.append({"kind": "heading", "level": int(t.tag[1]), "text": tokens[i + 1].content, "line": line(t)})
        i += 3
        continue
    # A container's extent: up to its matching close token.
    j, depth = i, 0
    if t.nesting == 1:
        close = t.type.replace("_open", "_close")
        while True:
            u = tokens[j]
            depth += u.nesting if u.type in (t.type, close) else 0
            if depth == 0:
                break
            j += 1
    if t.type in ("bullet_list_open", "ordered_list_open"):
        items = [
            tokens[k + 2].content if tokens[k + 1].type == "paragraph_open" else ""
            for k in range(i, j) if tokens[k].type == "list_item_open" and tokens[k].level == t.level + 1
        ]
        blocks.append({"kind": "list", "items": items, "line": line(t)})
    else:
        blocks.append({"kind": "other", "token": t.type.replace("_open", ""), "line": line(t)})
    i = j + 1

json.dump({"blocks": blocks, "code": code}, sys.stdout)
"#;
