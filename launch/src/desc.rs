//! A small model of a `gst-launch-1.0` pipeline description.
//!
//! The tool builds every pipeline it runs from one of these descriptions, so the line that
//! `--print-pipeline` prints is exactly what runs (modulo the parts that a single
//! `gst-launch-1.0` line cannot express, such as reconnecting an RTSP source). A
//! description renders two ways: for `gst::parse::launch` inside the process, and as a
//! shell command line for the user.

use std::fmt::Write as _;

/// One item of a chain: an element with properties, a caps filter, or a reference to a
/// named element (`name.` in gst-launch syntax).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Element { factory: String, props: Vec<(String, String)> },
    Caps(String),
    Ref(String),
}

/// Linked items (`a ! b ! c`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chain(pub Vec<Node>);

/// Several chains, written one after the other (the way gst-launch lines are built from
/// branches joined through named elements).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Description(pub Vec<Chain>);

/// Builder for an element node.
pub struct El {
    factory: String,
    props: Vec<(String, String)>,
}

/// Starts an element node.
pub fn el(factory: &str) -> El {
    El { factory: factory.to_owned(), props: Vec::new() }
}

impl El {
    /// Adds a property (value as gst-launch reads it).
    pub fn prop(mut self, name: &str, value: impl ToString) -> Self {
        self.props.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds a property when `value` is `Some`.
    pub fn opt(self, name: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.prop(name, v),
            None => self,
        }
    }

    /// Names the element.
    pub fn name(self, name: &str) -> Self {
        self.prop("name", name)
    }
}

impl From<El> for Node {
    fn from(e: El) -> Self {
        Node::Element { factory: e.factory, props: e.props }
    }
}

impl Chain {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends an element.
    pub fn then(mut self, node: impl Into<Node>) -> Self {
        self.0.push(node.into());
        self
    }

    /// Appends a caps filter.
    pub fn caps(mut self, caps: &str) -> Self {
        self.0.push(Node::Caps(caps.to_owned()));
        self
    }

    /// Appends a reference to a named element.
    pub fn to_ref(mut self, name: &str) -> Self {
        self.0.push(Node::Ref(name.to_owned()));
        self
    }

    /// Appends all items of another chain.
    pub fn extend(mut self, other: Chain) -> Self {
        self.0.extend(other.0);
        self
    }
}

/// How values are quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One string for `gst::parse::launch`: values with special characters in double quotes.
    Parse,
    /// Shell words for `gst-launch-1.0`: words with special characters in single quotes.
    Shell,
}

fn plain_value(v: &str) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "_-+./:@%,=".contains(c))
}

fn parse_quote(v: &str) -> String {
    if plain_value(v) {
        v.to_owned()
    } else {
        let mut out = String::from("\"");
        for c in v.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}

/// Quotes one shell word when needed.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "_-+./:@%,=".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn render_node(node: &Node, style: Style, out: &mut String) {
    match node {
        Node::Element { factory, props } => {
            out.push_str(factory);
            for (k, v) in props {
                out.push(' ');
                match style {
                    Style::Parse => {
                        let _ = write!(out, "{k}={}", parse_quote(v));
                    }
                    Style::Shell => out.push_str(&shell_quote(&format!("{k}={v}"))),
                }
            }
        }
        Node::Caps(caps) => match style {
            Style::Parse => out.push_str(caps),
            Style::Shell => out.push_str(&shell_quote(caps)),
        },
        Node::Ref(name) => {
            out.push_str(name);
            out.push('.');
        }
    }
}

impl Chain {
    pub fn render(&self, style: Style) -> String {
        let mut out = String::new();
        for (i, node) in self.0.iter().enumerate() {
            if i > 0 {
                out.push_str(" ! ");
            }
            render_node(node, style, &mut out);
        }
        out
    }
}

impl Description {
    pub fn render(&self, style: Style) -> String {
        self.0.iter().map(|c| c.render(style)).collect::<Vec<_>>().join(" ")
    }

    /// The command line a user can paste into a shell.
    pub fn command_line(&self) -> String {
        format!("gst-launch-1.0 -e {}", self.render(Style::Shell))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_styles() {
        let d = Description(vec![
            Chain::new().then(el("filesrc").prop("location", "/tmp/a b.mp4")).then(el("qtdemux").name("demux")),
            Chain::new().to_ref("demux").caps("video/x-raw,format=I420").then(el("fakesink").prop("sync", false)),
        ]);
        assert_eq!(
            d.render(Style::Parse),
            "filesrc location=\"/tmp/a b.mp4\" ! qtdemux name=demux demux. ! video/x-raw,format=I420 ! fakesink sync=false"
        );
        assert_eq!(
            d.command_line(),
            "gst-launch-1.0 -e filesrc 'location=/tmp/a b.mp4' ! qtdemux name=demux demux. ! video/x-raw,format=I420 ! fakesink sync=false"
        );
    }

    #[test]
    fn quotes_awkward_values() {
        assert_eq!(parse_quote("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(parse_quote(""), "\"\"");
    }

    #[test]
    fn parsed_description_builds() {
        use gst::prelude::*;
        gst::init().unwrap();
        let d = Description(vec![Chain::new()
            .then(el("videotestsrc").prop("num-buffers", 2))
            .caps("video/x-raw,width=64,height=48")
            .then(el("fakesink").name("sink"))]);
        let p = gst::parse::launch(&d.render(Style::Parse)).unwrap();
        let bin = p.downcast::<gst::Bin>().unwrap();
        assert!(bin.by_name("sink").is_some());
    }
}
