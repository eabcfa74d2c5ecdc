//! Glob patterns for pattern subscriptions (`subscribe_pattern("chat:*")`).
//!
//! # Syntax
//!
//! A pattern is matched against a whole topic name, character by character (a character is one
//! Unicode scalar value, a Rust `char`):
//!
//! | in the pattern | matches |
//! |---|---|
//! | `*` | any run of characters, including the empty run and including `:` |
//! | `?` | exactly one character |
//! | `\` followed by any character `c` | `c` itself (so `\*`, `\?` and `\\` are a literal `*`, `?`, `\`) |
//! | any other character | itself |
//!
//! A `\` at the very end of a pattern escapes nothing and makes the pattern invalid
//! ([`NodeError::InvalidPattern`]). Matching is case-sensitive; there are no character classes
//! and no special treatment of `:` or any other separator. [`GlobPattern::escape`] turns any
//! topic into a pattern that matches exactly that topic.
//!
//! A pattern is non-empty UTF-8 of at most [`Limits::max_topic_len`] bytes, counted on the text as
//! written (escapes included), like a topic.
//!
//! # Cost
//!
//! A pattern is compiled once into literal segments separated by `*`. Matching never backtracks
//! more than one segment at a time: the first segment is anchored at the start, the last at the
//! end, and each middle segment is placed at its leftmost occurrence (which is always safe, since
//! the `*` after it can absorb whatever the placement skipped). The worst case is therefore
//! O(topic length × pattern length), with no exponential blow-up whatever the number of stars;
//! segments without `?` are searched with `str::find`, which is linear. A pattern without
//! wildcards is a plain string comparison, and `prefix*` is a `starts_with`.

use core::fmt;

use bytes::Bytes;

use crate::error::NodeError;
use crate::limits::Limits;
use crate::wire::spot::Pattern;

/// One compiled pattern element inside a segment (between two `*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Atom {
    /// A literal character (written plainly or escaped).
    Char(char),
    /// `?`: any one character.
    AnyChar,
}

/// A run of pattern elements without `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Only literal characters: compared with the `str` searching functions.
    Literal(Box<str>),
    /// At least one `?`: walked character by character.
    Mixed(Box<[Atom]>),
}

/// The shape of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Shape {
    /// No `*`: the topic must match the segment exactly.
    Whole(Segment),
    /// At least one `*`: `first * middle[0] * ... * last`. Middle segments are never empty
    /// (consecutive stars collapse); `first` and `last` may be.
    Starred { first: Segment, middle: Box<[Segment]>, last: Segment },
}

/// A validated, compiled glob pattern (see the [module documentation](self) for the syntax).
///
/// Equality, ordering and hashing are those of the pattern text as written.
#[derive(Clone)]
pub struct GlobPattern {
    source: Pattern,
    shape: Shape,
}

impl GlobPattern {
    /// Validates and compiles a pattern given as text: non-empty, at most
    /// [`Limits::max_topic_len`] bytes, and no dangling `\` at the end.
    pub fn parse(text: &str, limits: &Limits) -> Result<Self, NodeError> {
        let source = Pattern::copy_from_str(text, limits)
            .map_err(|_| NodeError::InvalidPattern(text.to_owned()))?;
        Self::new(source)
    }

    /// Validates and compiles a pattern from raw bytes (UTF-8 is checked too).
    pub fn from_bytes(bytes: Bytes, limits: &Limits) -> Result<Self, NodeError> {
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        let source =
            Pattern::new(bytes, limits).map_err(|_| NodeError::InvalidPattern(lossy.clone()))?;
        Self::new(source)
    }

    /// Compiles a pattern the wire layer has validated already (e.g. from PATTERN_SUBSCRIBE).
    /// Fails only on a dangling `\`.
    pub fn new(source: Pattern) -> Result<Self, NodeError> {
        let shape = compile(source.as_str())
            .ok_or_else(|| NodeError::InvalidPattern(source.as_str().to_owned()))?;
        Ok(GlobPattern { source, shape })
    }

    /// A pattern text that matches exactly `topic` and nothing else: `*`, `?` and `\` are
    /// escaped with a `\`. (The result may be longer than the topic.)
    pub fn escape(topic: &str) -> String {
        let mut out = String::with_capacity(topic.len());
        for c in topic.chars() {
            if matches!(c, '*' | '?' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        self.source.as_str()
    }

    /// The pattern as the wire carries it (PATTERN_SUBSCRIBE).
    pub fn pattern(&self) -> &Pattern {
        &self.source
    }

    /// Whether `topic` matches the whole pattern.
    pub fn matches(&self, topic: &str) -> bool {
        match &self.shape {
            Shape::Whole(segment) => segment.prefix_len(topic) == Some(topic.len()),
            Shape::Starred { first, middle, last } => {
                let Some(mut pos) = first.prefix_len(topic) else {
                    return false;
                };
                let Some(limit) = last.suffix_start(topic) else {
                    return false;
                };
                if limit < pos {
                    return false;
                }
                for segment in middle.iter() {
                    match topic.get(pos..limit).and_then(|window| segment.find(window)) {
                        Some(end) => pos += end,
                        None => return false,
                    }
                }
                true
            }
        }
    }

    /// The one topic this pattern matches, when it has no wildcard (escapes resolved).
    pub fn as_literal(&self) -> Option<&str> {
        match &self.shape {
            Shape::Whole(Segment::Literal(text)) => Some(text),
            _ => None,
        }
    }

    /// The literal text every matching topic starts with (escapes resolved; empty when the
    /// pattern starts with a wildcard). Useful as a ZeroMQ prefix subscription that covers the
    /// pattern.
    pub fn literal_prefix(&self) -> String {
        let segment = match &self.shape {
            Shape::Whole(segment) => segment,
            Shape::Starred { first, .. } => first,
        };
        match segment {
            Segment::Literal(text) => text.to_string(),
            Segment::Mixed(atoms) => atoms
                .iter()
                .map_while(|atom| match atom {
                    Atom::Char(c) => Some(*c),
                    Atom::AnyChar => None,
                })
                .collect(),
        }
    }

    /// Whether the pattern matches every topic (it is made of `*` only).
    pub fn matches_everything(&self) -> bool {
        match &self.shape {
            Shape::Starred { first, middle, last } => {
                middle.is_empty() && first.is_empty() && last.is_empty()
            }
            Shape::Whole(_) => false,
        }
    }

    /// Whether the pattern has at least one `*` or `?`.
    pub fn has_wildcards(&self) -> bool {
        self.as_literal().is_none()
    }
}

impl PartialEq for GlobPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for GlobPattern {}

impl PartialOrd for GlobPattern {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GlobPattern {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.source.cmp(&other.source)
    }
}

impl core::hash::Hash for GlobPattern {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

impl fmt::Debug for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GlobPattern({:?})", self.as_str())
    }
}

impl fmt::Display for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compiles pattern text; `None` on a dangling `\`.
fn compile(text: &str) -> Option<Shape> {
    let mut segments: Vec<Vec<Atom>> = vec![Vec::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let atom = match c {
            '*' => {
                let collapsed = segments.len() > 1 && segments.last().is_some_and(Vec::is_empty);
                if !collapsed {
                    segments.push(Vec::new());
                }
                continue;
            }
            '?' => Atom::AnyChar,
            '\\' => Atom::Char(chars.next()?),
            other => Atom::Char(other),
        };
        if let Some(current) = segments.last_mut() {
            current.push(atom);
        }
    }
    let mut segments: Vec<Segment> = segments.into_iter().map(Segment::from_atoms).collect();
    if segments.len() == 1 {
        return segments.pop().map(Shape::Whole);
    }
    let last = segments.pop()?;
    let mut rest = segments.into_iter();
    let first = rest.next()?;
    Some(Shape::Starred { first, middle: rest.collect(), last })
}

impl Segment {
    fn from_atoms(atoms: Vec<Atom>) -> Segment {
        if atoms.iter().all(|a| matches!(a, Atom::Char(_))) {
            let text: String = atoms
                .iter()
                .filter_map(|a| match a {
                    Atom::Char(c) => Some(*c),
                    Atom::AnyChar => None,
                })
                .collect();
            Segment::Literal(text.into_boxed_str())
        } else {
            Segment::Mixed(atoms.into_boxed_slice())
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Segment::Literal(text) => text.is_empty(),
            Segment::Mixed(atoms) => atoms.is_empty(),
        }
    }

    /// If `text` starts with this segment, the byte length of the matched part.
    fn prefix_len(&self, text: &str) -> Option<usize> {
        match self {
            Segment::Literal(literal) => text.starts_with(&**literal).then_some(literal.len()),
            Segment::Mixed(atoms) => {
                let mut chars = text.char_indices();
                for atom in atoms.iter() {
                    let (_, c) = chars.next()?;
                    if let Atom::Char(want) = atom
                        && c != *want
                    {
                        return None;
                    }
                }
                Some(chars.offset())
            }
        }
    }

    /// If `text` ends with this segment, the byte index where the matched part starts.
    fn suffix_start(&self, text: &str) -> Option<usize> {
        match self {
            Segment::Literal(literal) => {
                text.ends_with(&**literal).then(|| text.len() - literal.len())
            }
            Segment::Mixed(atoms) => {
                let mut chars = text.char_indices().rev();
                let mut start = text.len();
                for atom in atoms.iter().rev() {
                    let (at, c) = chars.next()?;
                    if let Atom::Char(want) = atom
                        && c != *want
                    {
                        return None;
                    }
                    start = at;
                }
                Some(start)
            }
        }
    }

    /// The byte index just past the leftmost occurrence of this segment in `text`.
    fn find(&self, text: &str) -> Option<usize> {
        match self {
            Segment::Literal(literal) => text.find(&**literal).map(|at| at + literal.len()),
            Segment::Mixed(_) => text.char_indices().map(|(at, _)| at).find_map(|at| {
                text.get(at..).and_then(|rest| self.prefix_len(rest)).map(|n| at + n)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> GlobPattern {
        GlobPattern::parse(text, &Limits::default()).unwrap()
    }

    #[test]
    fn star_spans_colons_and_the_empty_run() {
        let p = glob("chat:*");
        assert!(p.matches("chat:"));
        assert!(p.matches("chat:room1"));
        assert!(p.matches("chat:a:b:c"));
        assert!(!p.matches("chat"));
        assert!(!p.matches("game:chat:1"));
        assert!(glob("*:lobby").matches("eu:chat:lobby"));
        assert!(glob("a*b*c").matches("abc"));
        assert!(glob("a*b*c").matches("a-b-b-c"));
        assert!(!glob("a*b*c").matches("a-c-b"));
        assert!(!glob("a*a").matches("a"));
        assert!(glob("a*a").matches("aa"));
    }

    #[test]
    fn question_mark_is_one_unicode_scalar() {
        let p = glob("room?");
        assert!(p.matches("room1"));
        assert!(p.matches("roomé"), "é is one char of two bytes");
        assert!(p.matches("room😀"), "a four-byte char");
        assert!(!p.matches("room"));
        assert!(!p.matches("room12"));
        assert!(glob("?*?").matches("ab"));
        assert!(!glob("?*?").matches("a"));
        assert!(glob("*é?").matches("xxéz"));
        assert!(glob("a*?b*?c").matches("a1b2c"));
        assert!(!glob("a*?b*?c").matches("abc"));
    }

    #[test]
    fn escapes_are_literal() {
        let p = glob(r"a\*b");
        assert!(p.matches("a*b"));
        assert!(!p.matches("axb"));
        assert_eq!(p.as_literal(), Some("a*b"));
        assert!(glob(r"\?").matches("?"));
        assert!(!glob(r"\?").matches("x"));
        assert!(glob(r"x\\y").matches(r"x\y"));
        assert!(glob(r"\q").matches("q"), "escaping a plain character is allowed");
        let escaped = GlobPattern::escape(r"odd*topic?\x");
        assert_eq!(escaped, r"odd\*topic\?\\x");
        assert_eq!(glob(&escaped).as_literal(), Some(r"odd*topic?\x"));
    }

    #[test]
    fn invalid_patterns_are_einval() {
        let limits = Limits::default();
        for bad in ["", r"abc\", r"\"] {
            let err = GlobPattern::parse(bad, &limits).unwrap_err();
            assert_eq!(err, NodeError::InvalidPattern(bad.to_owned()));
            assert_eq!(err.errno(), crate::Errno::EINVAL);
        }
        let long = "*".repeat(limits.max_topic_len + 1);
        assert!(matches!(GlobPattern::parse(&long, &limits), Err(NodeError::InvalidPattern(_))));
        assert!(GlobPattern::parse(&"*".repeat(limits.max_topic_len), &limits).is_ok());
        let small = Limits { max_topic_len: 4, ..Limits::default() };
        assert!(GlobPattern::parse("ab*cd", &small).is_err());
        assert!(matches!(
            GlobPattern::from_bytes(Bytes::from_static(b"\xff*"), &limits),
            Err(NodeError::InvalidPattern(_))
        ));
        assert!(GlobPattern::from_bytes(Bytes::from_static(b"ok*"), &limits).is_ok());
    }

    #[test]
    fn shape_queries() {
        assert!(glob("*").matches_everything());
        assert!(glob("***").matches_everything());
        assert!(!glob("*a*").matches_everything());
        assert!(!glob("?").matches_everything());
        assert_eq!(glob("chat:*").literal_prefix(), "chat:");
        assert_eq!(glob(r"c\*h?t").literal_prefix(), "c*h");
        assert_eq!(glob("*x").literal_prefix(), "");
        assert_eq!(glob("plain").literal_prefix(), "plain");
        assert!(!glob("plain").has_wildcards());
        assert!(glob("pl?in").has_wildcards());
        assert_eq!(glob("x*").as_literal(), None);
        assert_eq!(glob("x*").to_string(), "x*");
        assert_eq!(format!("{:?}", glob("x*")), "GlobPattern(\"x*\")");
        assert_eq!(glob("x*"), glob("x*"));
        assert_ne!(glob("x*"), glob("x**"), "identity is the text as written");
        assert_eq!(glob("x*").pattern().as_str(), "x*");
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        // Exponential backtracking would not finish this in any reasonable time.
        let pattern = format!("{}b", "a*".repeat(300));
        let p = glob(&pattern);
        let topic = "a".repeat(1000);
        assert!(!p.matches(&topic));
        assert!(p.matches(&format!("{topic}b")));
        let q = glob(&format!("{}b", "?*".repeat(300)));
        assert!(!q.matches(&topic));
        assert!(q.matches(&format!("{topic}b")));
    }
}
