//! Builds the spanned tree from parser events, enforcing the budgets (size, depth, node
//! count, alias expansion) and the rules YAML itself leaves loose for us: one document,
//! unique string keys, no custom tags.

use std::collections::HashMap;

use gantry_core::{Diagnostic, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};

use super::position::LineIndex;
use super::scalar::resolve_plain;
use super::{Kind, Node, Style};

/// The budgets a file must stay within. Each is refused with a diagnostic, so no input
/// can make the compiler hang, overflow its stack or exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_nodes: usize,
    /// Nodes that aliases (`*name`) may copy in total: a few kilobytes of "billion
    /// laughs" YAML would otherwise expand to gigabytes.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 64,
            max_nodes: 100_000,
            max_alias_nodes: 10_000,
        }
    }
}

/// Parses `source` into one spanned tree. Returns `None` (with at least one error in
/// `diags`) when the YAML is malformed or over a budget; a file with no content gives
/// `None` and an error too.
pub fn parse(
    file: &str,
    source: &str,
    index: &LineIndex,
    limits: &Limits,
    diags: &mut Vec<Diagnostic>,
) -> Option<Node> {
    if source.len() > limits.max_bytes {
        diags.push(
            Diagnostic::error(
                file,
                None,
                format!(
                    "the file is {} bytes; pipeline files are limited to {} bytes",
                    source.len(),
                    limits.max_bytes
                ),
            )
            .with_help("split the pipeline into several files"),
        );
        return None;
    }
    let mut builder = Builder {
        file,
        index,
        limits,
        diags,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        nodes: 0,
        expanded: 0,
        anchored: 0,
    };
    let root = builder.run(source)?;
    if matches!(root.kind, Kind::Null) {
        builder.diags.push(
            Diagnostic::error(file, None, "the pipeline file is empty")
                .with_help("a pipeline needs at least `jobs:` with one job, see docs/pipelines.md"),
        );
        return None;
    }
    Some(root)
}

struct Anchor {
    node: Node,
    size: usize,
    depth: usize,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        /// A key waiting for its value; `false` when the entry is to be dropped (a
        /// duplicate or an invalid key, already reported).
        pending: Option<(Node, bool)>,
        seen: HashMap<String, Span>,
    },
}

struct Frame {
    start: Span,
    anchor: usize,
    kind: FrameKind,
}

struct Builder<'a> {
    file: &'a str,
    index: &'a LineIndex,
    limits: &'a Limits,
    diags: &'a mut Vec<Diagnostic>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchor>,
    root: Option<Node>,
    nodes: usize,
    expanded: usize,
    anchored: usize,
}

/// Stop building: the reason is already in the diagnostics.
struct Abort;

impl Builder<'_> {
    fn run(&mut self, source: &str) -> Option<Node> {
        let mut parser = Parser::new_from_str(source);
        let mut documents = 0;
        while let Some(next) = parser.next_event() {
            let (event, span) = match next {
                Ok(ok) => ok,
                Err(err) => {
                    self.syntax_error(source, &err);
                    return None;
                }
            };
            let span = self.index.span_chars(span.start.index(), span.end.index());
            let step = match event {
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        self.diags.push(
                            Diagnostic::error(self.file, Some(span), "a pipeline file holds one YAML document, but a second one starts here")
                                .with_label("second document")
                                .with_help("remove the `---` line, or move the second pipeline to its own file"),
                        );
                        break;
                    }
                    Ok(())
                }
                Event::Scalar(text, style, anchor, tag) => {
                    self.scalar(&text, style, anchor, tag.as_deref(), span)
                }
                Event::SequenceStart(anchor, tag) => {
                    self.open(FrameKind::Seq(Vec::new()), anchor, tag.as_deref(), span)
                }
                Event::MappingStart(anchor, tag) => self.open(
                    FrameKind::Map {
                        entries: Vec::new(),
                        pending: None,
                        seen: HashMap::new(),
                    },
                    anchor,
                    tag.as_deref(),
                    span,
                ),
                Event::SequenceEnd | Event::MappingEnd => self.close(span),
                Event::Alias(id) => self.alias(id, span),
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => Ok(()),
            };
            if step.is_err() {
                return None;
            }
        }
        // An empty stream has no document at all; report it like an empty document.
        Some(self.root.take().unwrap_or(Node {
            kind: Kind::Null,
            span: self.index.span(0, 0),
            text: String::new(),
            style: Style::Plain,
        }))
    }

    fn syntax_error(&mut self, source: &str, err: &ScanError) {
        let mark = err.marker();
        let span = self.index.span_chars(mark.index(), mark.index() + 1);
        let info = err.info();
        if info.contains("recursion limit") {
            // The scanner's own flow-nesting limit (255) can trip before our depth check
            // sees the events; report both the same way.
            self.diags.push(self.too_deep(span));
            return;
        }
        let mut diag = Diagnostic::error(self.file, Some(span), format!("invalid YAML: {info}"));
        // Tabs in indentation are the most common cause of YAML errors, and the
        // parser's own message rarely says so.
        let line_start = source
            .get(..span.offset)
            .and_then(|b| b.rfind('\n'))
            .map_or(0, |i| i + 1);
        let line = source
            .get(line_start..)
            .and_then(|l| l.split('\n').next())
            .unwrap_or("");
        let indent_has_tab = line
            .chars()
            .take_while(|c| c.is_whitespace())
            .any(|c| c == '\t');
        if info.contains("tab") || indent_has_tab {
            diag = diag.with_help("YAML does not allow tabs for indentation; indent with spaces");
        } else if info.contains("mapping values are not allowed") {
            diag = diag.with_help(
                "a ': ' inside a plain value starts a map; put the whole value in quotes",
            );
        } else if info.contains("flow sequence") || info.contains("flow mapping") {
            diag = diag.with_help(
                "inside [ ] and { }, a value containing '{', '}', '[', ']' or ',' must be quoted",
            );
        }
        self.diags.push(diag);
    }

    fn too_deep(&self, span: Span) -> Diagnostic {
        Diagnostic::error(
            self.file,
            Some(span),
            format!(
                "the YAML is nested deeper than {} levels",
                self.limits.max_depth
            ),
        )
        .with_help("a pipeline never needs this much nesting; check the indentation and brackets")
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Abort> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            self.diags.push(
                Diagnostic::error(
                    self.file,
                    Some(span),
                    format!(
                        "the file has more than {} YAML nodes",
                        self.limits.max_nodes
                    ),
                )
                .with_help("split the pipeline into several files"),
            );
            return Err(Abort);
        }
        Ok(())
    }

    fn check_tag(&mut self, tag: Option<&Tag>, span: Span) -> bool {
        let Some(tag) = tag else { return false };
        if tag.is_yaml_core_schema() && tag.suffix == "str" {
            return true;
        }
        let core = tag.is_yaml_core_schema()
            && matches!(
                tag.suffix.as_str(),
                "map" | "seq" | "int" | "float" | "bool" | "null"
            );
        if !core {
            self.diags.push(
                Diagnostic::error(
                    self.file,
                    Some(span),
                    format!("YAML tag '{tag}' is not supported"),
                )
                .with_help("remove the tag; to make a value a string, put it in quotes"),
            );
        }
        false
    }

    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<(), Abort> {
        self.count(1, span)?;
        let force_str = self.check_tag(tag, span);
        let (kind, style) = match style {
            ScalarStyle::Plain if !force_str => (resolve_plain(text), Style::Plain),
            ScalarStyle::Plain => (Kind::Str, Style::Plain),
            ScalarStyle::SingleQuoted => (Kind::Str, Style::SingleQuoted),
            ScalarStyle::DoubleQuoted => (Kind::Str, Style::DoubleQuoted),
            ScalarStyle::Literal => (Kind::Str, Style::Literal),
            ScalarStyle::Folded => (Kind::Str, Style::Folded),
        };
        let node = Node {
            kind,
            span,
            text: text.to_string(),
            style,
        };
        self.remember(anchor, &node, span)?;
        self.push(node);
        Ok(())
    }

    fn open(
        &mut self,
        kind: FrameKind,
        anchor: usize,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<(), Abort> {
        self.count(1, span)?;
        self.check_tag(tag, span);
        if self.stack.len() >= self.limits.max_depth {
            let diag = self.too_deep(span);
            self.diags.push(diag);
            return Err(Abort);
        }
        self.stack.push(Frame {
            start: span,
            anchor,
            kind,
        });
        Ok(())
    }

    fn close(&mut self, end: Span) -> Result<(), Abort> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        let (kind, last_end) = match frame.kind {
            FrameKind::Seq(items) => {
                let last = items.last().map(|n| n.span.offset + n.span.len);
                (Kind::Seq(items), last)
            }
            FrameKind::Map { entries, .. } => {
                let last = entries.last().map(|(_, v)| v.span.offset + v.span.len);
                (Kind::Map(self.merge(entries)), last)
            }
        };
        // A flow collection ends at its bracket; a block one at its last child (its end
        // event sits at the start of whatever follows).
        let end_offset = if end.len > 0 {
            end.offset + end.len
        } else {
            last_end.unwrap_or(frame.start.offset + frame.start.len)
        };
        let span = self
            .index
            .span(frame.start.offset, end_offset.max(frame.start.offset));
        let node = Node {
            kind,
            span,
            text: String::new(),
            style: Style::Collection,
        };
        self.remember(frame.anchor, &node, span)?;
        self.push(node);
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node, span: Span) -> Result<(), Abort> {
        if anchor == 0 {
            return Ok(());
        }
        let (size, depth) = node.size_and_depth();
        self.anchored += size;
        if self.anchored > self.limits.max_nodes {
            self.diags.push(Diagnostic::error(
                self.file,
                Some(span),
                format!(
                    "anchors (&name) hold more than {} nodes in total",
                    self.limits.max_nodes
                ),
            ));
            return Err(Abort);
        }
        self.anchors.insert(
            anchor,
            Anchor {
                node: node.clone(),
                size,
                depth,
            },
        );
        Ok(())
    }

    fn alias(&mut self, id: usize, span: Span) -> Result<(), Abort> {
        let Some(anchor) = self.anchors.get(&id) else {
            self.diags.push(
                Diagnostic::error(self.file, Some(span), "this alias refers to an anchor that is not complete here")
                    .with_help("an alias (*name) can only repeat a value whose anchor (&name) is fully written before it"),
            );
            return Err(Abort);
        };
        let (size, depth) = (anchor.size, anchor.depth);
        self.expanded += size;
        if self.expanded > self.limits.max_alias_nodes {
            self.diags.push(
                Diagnostic::error(
                    self.file,
                    Some(span),
                    format!(
                        "aliases expand to more than {} nodes",
                        self.limits.max_alias_nodes
                    ),
                )
                .with_label("expansion budget exceeded here")
                .with_help(
                    "aliases (*name) copy their anchor's value; repeat fewer or smaller values",
                ),
            );
            return Err(Abort);
        }
        if self.stack.len() + depth > self.limits.max_depth {
            self.diags.push(Diagnostic::error(
                self.file,
                Some(span),
                format!(
                    "this alias would nest the YAML deeper than {} levels",
                    self.limits.max_depth
                ),
            ));
            return Err(Abort);
        }
        self.count(size, span)?;
        let Some(anchor) = self.anchors.get(&id) else {
            return Err(Abort);
        };
        let mut node = anchor.node.clone();
        node.span = span;
        self.push(node);
        Ok(())
    }

    fn push(&mut self, mut node: Node) {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut frame.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map {
                entries,
                pending,
                seen,
            } => {
                match pending.take() {
                    Some((key, keep)) => {
                        if keep {
                            // `key:` with nothing after it: point at the key, not at the
                            // empty space behind the colon.
                            if matches!(node.kind, Kind::Null) && node.span.len == 0 {
                                node.span = key.span;
                            }
                            entries.push((key, node));
                        }
                    }
                    None => {
                        let keep = match key_problem(&node) {
                            Some(problem) => {
                                let mut diag =
                                    Diagnostic::error(self.file, Some(node.span), problem);
                                if !node.is_scalar() || node.kind == Kind::Null {
                                    diag =
                                        diag.with_help("write keys as plain words, e.g. `name:`");
                                }
                                self.diags.push(diag);
                                false
                            }
                            None if is_merge_key(&node) => true,
                            None => {
                                match seen.get(&node.text) {
                                    Some(first) => {
                                        self.diags.push(
                                    Diagnostic::error(self.file, Some(node.span), format!("duplicate key '{}'", node.text))
                                        .with_label("defined again here")
                                        .with_help("remove one of them; YAML keeps only one value per key")
                                        .with_note(format!("first defined at line {}, column {}", first.line, first.col)),
                                );
                                        false
                                    }
                                    None => {
                                        seen.insert(node.text.clone(), node.span);
                                        true
                                    }
                                }
                            }
                        };
                        *pending = Some((node, keep));
                    }
                }
            }
        }
    }

    /// Applies merge keys (`<<: *defaults`): keys written in the map win, then earlier
    /// merged maps win over later ones, as in YAML 1.1's merge-key type.
    fn merge(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        if !entries.iter().any(|(k, _)| is_merge_key(k)) {
            return entries;
        }
        let mut out = Vec::with_capacity(entries.len());
        let mut merged = Vec::new();
        let mut present = std::collections::HashSet::new();
        for (key, value) in entries {
            if is_merge_key(&key) {
                merged.push(value);
            } else {
                present.insert(key.text.clone());
                out.push((key, value));
            }
        }
        for value in merged {
            let sources: Vec<Node> = match value.kind {
                Kind::Map(_) => vec![value],
                Kind::Seq(items) if items.iter().all(|i| matches!(i.kind, Kind::Map(_))) => items,
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            self.file,
                            Some(value.span),
                            format!(
                                "the merge key `<<` needs a map or a list of maps, found {}",
                                value.describe()
                            ),
                        )
                        .with_help("write `<<: *name` where `&name` marks a map"),
                    );
                    continue;
                }
            };
            for source in sources {
                if let Kind::Map(pairs) = source.kind {
                    for (k, v) in pairs {
                        if present.insert(k.text.clone()) {
                            out.push((k, v));
                        }
                    }
                }
            }
        }
        out
    }
}

fn is_merge_key(node: &Node) -> bool {
    node.style == Style::Plain && node.text == "<<"
}

fn key_problem(node: &Node) -> Option<String> {
    match node.kind {
        Kind::Str => None,
        Kind::Map(_) | Kind::Seq(_) => {
            Some(format!("keys must be strings, found {}", node.describe()))
        }
        Kind::Null => Some("a key is missing here".to_string()),
        _ => Some(format!(
            "keys must be strings, found {} ('{}'); put it in quotes if you mean the text",
            node.describe(),
            node.text
        )),
    }
}
