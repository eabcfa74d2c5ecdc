//! Property tests of `spot_proto::pubsub::pattern`:
//!
//! * the compiled matcher agrees with a plain table-driven reference matcher on random patterns and
//!   topics over a small alphabet (so that matches are frequent);
//! * a pattern without wildcards matches only itself; an escaped topic matches only that topic;
//! * `*` matches everything; a pattern made from a topic by wildcarding parts still matches it;
//! * invalid text (a dangling `\`) is rejected exactly when the reference says so.
//!
//! Every run uses a fixed seed, so failures replay.
// Test code: a failed unwrap in a generator is a failed test.
#![allow(clippy::unwrap_used)]

use quickcheck::{Arbitrary, Gen, QuickCheck};
use spot_proto::pubsub::GlobPattern;
use spot_proto::{Limits, NodeError};

const SEED: u64 = 0x5107_9a77;

fn qc(tests: u64) -> QuickCheck {
    QuickCheck::new().rng(Gen::from_size_and_seed(24, SEED)).tests(tests)
}

/// Characters that make matches likely and exercise multi-byte and special characters.
const ALPHABET: &[char] = &['a', 'b', ':', 'é', '😀', '*', '?', '\\'];
const PLAIN: &[char] = &['a', 'b', ':', 'é', '😀'];

#[derive(Clone, Debug)]
struct Text(String);

fn random_text(g: &mut Gen, alphabet: &[char], max: usize) -> String {
    let len = usize::arbitrary(g) % (max + 1);
    (0..len).map(|_| *g.choose(alphabet).unwrap()).collect()
}

impl Arbitrary for Text {
    fn arbitrary(g: &mut Gen) -> Self {
        Text(random_text(g, ALPHABET, 12))
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(self.0.shrink().map(Text))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Token {
    Star,
    One,
    Lit(char),
}

/// The reference tokenizer: `None` on a dangling backslash.
fn tokens(pattern: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => Token::Lit(chars.next()?),
            c => Token::Lit(c),
        });
    }
    Some(out)
}

/// The reference matcher: the glob definition as a table. `ok[i][j]` says whether the first `i`
/// tokens match the first `j` characters; a star matches an empty run (`ok[i-1][j]`) or one more
/// character (`ok[i][j-1]`).
fn reference(pattern: &[Token], topic: &[char]) -> bool {
    let mut ok = vec![vec![false; topic.len() + 1]; pattern.len() + 1];
    ok[0][0] = true;
    for i in 1..=pattern.len() {
        for j in 0..=topic.len() {
            ok[i][j] = match pattern[i - 1] {
                Token::Star => ok[i - 1][j] || (j > 0 && ok[i][j - 1]),
                Token::One => j > 0 && ok[i - 1][j - 1],
                Token::Lit(c) => j > 0 && topic[j - 1] == c && ok[i - 1][j - 1],
            };
        }
    }
    ok[pattern.len()][topic.len()]
}

fn compile(text: &str) -> Result<GlobPattern, NodeError> {
    GlobPattern::parse(text, &Limits::default())
}

#[test]
fn matcher_agrees_with_the_reference() {
    fn prop(pattern: Text, topic: Text) -> bool {
        let reference_tokens = tokens(&pattern.0);
        match compile(&pattern.0) {
            Err(NodeError::InvalidPattern(_)) => {
                // Only the empty pattern and a dangling backslash are invalid here.
                pattern.0.is_empty() || reference_tokens.is_none()
            }
            Err(_) => false,
            Ok(glob) => {
                let chars: Vec<char> = topic.0.chars().collect();
                let expected = reference(&reference_tokens.unwrap(), &chars);
                glob.matches(&topic.0) == expected
            }
        }
    }
    qc(3000).quickcheck(prop as fn(Text, Text) -> bool);
}

#[test]
fn matcher_agrees_with_the_reference_on_near_misses() {
    // Topics derived from the pattern (wildcards replaced by plain text), then mutated, are close
    // to matching, which exercises the segment placement far more than independent inputs.
    fn prop(pattern: Text, fill: Text, cut: usize) -> bool {
        let Some(reference_tokens) = tokens(&pattern.0) else { return true };
        let Ok(glob) = compile(&pattern.0) else { return pattern.0.is_empty() };
        let mut fills = fill.0.chars().cycle();
        let mut topic: Vec<char> = Vec::new();
        for token in &reference_tokens {
            match token {
                Token::Lit(c) => topic.push(*c),
                Token::One => topic.push(fills.next().unwrap_or('a')),
                Token::Star => topic.extend(fills.by_ref().take(cut % 3)),
            }
        }
        if !topic.is_empty() && cut % 2 == 1 {
            topic.remove(cut % topic.len());
        }
        let text: String = topic.iter().collect();
        glob.matches(&text) == reference(&reference_tokens, &topic)
    }
    qc(3000).quickcheck(prop as fn(Text, Text, usize) -> bool);
}

#[test]
fn a_pattern_without_wildcards_matches_only_itself() {
    fn prop(literal: Text, other: Text) -> bool {
        let plain: String = literal.0.chars().filter(|c| PLAIN.contains(c)).collect();
        if plain.is_empty() {
            return true;
        }
        let glob = compile(&plain).unwrap();
        glob.as_literal() == Some(plain.as_str())
            && glob.matches(&plain)
            && glob.matches(&other.0) == (other.0 == plain)
    }
    qc(2000).quickcheck(prop as fn(Text, Text) -> bool);
}

#[test]
fn an_escaped_topic_matches_only_that_topic() {
    fn prop(topic: Text, other: Text) -> bool {
        if topic.0.is_empty() {
            return true;
        }
        let glob = compile(&GlobPattern::escape(&topic.0)).unwrap();
        glob.as_literal() == Some(topic.0.as_str())
            && glob.matches(&topic.0)
            && glob.matches(&other.0) == (other.0 == topic.0)
    }
    qc(2000).quickcheck(prop as fn(Text, Text) -> bool);
}

#[test]
fn star_matches_everything() {
    fn prop(topic: Text, stars: u8) -> bool {
        let glob = compile(&"*".repeat(1 + usize::from(stars % 4))).unwrap();
        glob.matches_everything() && glob.matches(&topic.0)
    }
    qc(1000).quickcheck(prop as fn(Text, u8) -> bool);
}

#[test]
fn wildcarding_parts_of_a_topic_still_matches_it() {
    fn prop(topic: Text, choices: Vec<u8>) -> bool {
        let chars: Vec<char> = topic.0.chars().collect();
        let mut pattern = String::new();
        let mut i = 0;
        let mut choices = choices.into_iter().cycle();
        while i < chars.len() {
            match choices.next().unwrap_or(0) % 4 {
                0 => {
                    pattern.push('?');
                    i += 1;
                }
                1 => {
                    // A star swallowing 1..=3 characters.
                    pattern.push('*');
                    i += 1 + usize::from(choices.next().unwrap_or(0) % 3);
                }
                _ => {
                    pattern.push_str(&GlobPattern::escape(&chars[i].to_string()));
                    i += 1;
                }
            }
        }
        if pattern.is_empty() {
            pattern.push('*');
        }
        let glob = compile(&pattern).unwrap();
        glob.matches(&topic.0) && glob.literal_prefix().len() <= topic.0.len()
    }
    qc(2000).quickcheck(prop as fn(Text, Vec<u8>) -> bool);
}

#[test]
fn every_match_starts_with_the_literal_prefix() {
    fn prop(pattern: Text, topic: Text) -> bool {
        match compile(&pattern.0) {
            Ok(glob) => !glob.matches(&topic.0) || topic.0.starts_with(&glob.literal_prefix()),
            Err(_) => true,
        }
    }
    qc(3000).quickcheck(prop as fn(Text, Text) -> bool);
}

#[test]
fn arbitrary_bytes_are_a_pattern_or_a_typed_error() {
    fn prop(raw: Vec<u8>, topic: Text) -> bool {
        let text = String::from_utf8(raw.clone()).ok();
        match GlobPattern::from_bytes(bytes::Bytes::from(raw), &Limits::default()) {
            Ok(glob) => {
                // Valid UTF-8 without a dangling backslash; it agrees with the reference.
                let Some(text) = text else { return false };
                let reference_tokens = tokens(&text).unwrap();
                let chars: Vec<char> = topic.0.chars().collect();
                glob.as_str() == text
                    && glob.matches(&topic.0) == reference(&reference_tokens, &chars)
            }
            Err(NodeError::InvalidPattern(_)) => {
                text.is_none_or(|t| t.is_empty() || tokens(&t).is_none())
            }
            Err(_) => false,
        }
    }
    qc(2000).quickcheck(prop as fn(Vec<u8>, Text) -> bool);
}
