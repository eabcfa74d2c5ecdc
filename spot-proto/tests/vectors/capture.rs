//! Reader for the interop capture files in `shared/vectors/` (format: `vectors/README.md`).

use std::path::PathBuf;

/// One line event of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Bytes the real peer sent (greeting phase: one recv(); afterwards: one frame).
    Peer(Vec<u8>),
    /// Bytes our raw peer sent in one write.
    Ours(Vec<u8>),
    /// The real peer closed the connection.
    PeerEof,
    /// The real peer reset the connection.
    PeerRst,
    /// Our raw peer closed the connection.
    OursEof,
}

/// One TCP connection of a capture.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    /// The capture file's name.
    pub(crate) file: String,
    /// 1-based connection number.
    pub(crate) number: usize,
    /// The label after `conn>`.
    pub(crate) label: String,
    /// Events in order.
    pub(crate) events: Vec<Event>,
}

impl Conn {
    /// Everything our raw peer sent, concatenated.
    pub(crate) fn ours_stream(&self) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Ours(b) => Some(b.as_slice()),
                _ => None,
            })
            .flatten()
            .copied()
            .collect()
    }

    /// The real peer's lines split into greeting-phase reads and post-greeting frame lines.
    pub(crate) fn peer_greeting_reads_and_frames(&self) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut reads = Vec::new();
        let mut frames = Vec::new();
        let mut greeting_bytes = 0;
        for event in &self.events {
            if let Event::Peer(bytes) = event {
                if greeting_bytes < 64 {
                    greeting_bytes += bytes.len();
                    assert!(
                        greeting_bytes <= 64,
                        "{} conn {}: a greeting read overruns 64 bytes",
                        self.file,
                        self.number
                    );
                    reads.push(bytes.clone());
                } else {
                    frames.push(bytes.clone());
                }
            }
        }
        (reads, frames)
    }

    /// Short name for messages.
    pub(crate) fn id(&self) -> String {
        let label: String = self.label.chars().take(70).collect();
        format!("{} conn {} ({label})", self.file, self.number)
    }
}

/// The capture directory: `$SPOT_VECTORS_DIR`, or `shared/vectors` beside the workspace.
pub(crate) fn vectors_dir() -> PathBuf {
    match std::env::var_os("SPOT_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors")),
    }
}

/// Every capture file, parsed. Panics (a test failure, never a skip) if the directory or its
/// files are missing.
pub(crate) fn load_all() -> Vec<(String, Vec<Conn>)> {
    let dir = vectors_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the ZMTP capture directory {} is missing ({e}); set SPOT_VECTORS_DIR to the \
             shared/vectors directory",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the 10 capture files in {}, found {}",
        dir.display(),
        files.len()
    );
    files
        .iter()
        .map(|path| {
            let name =
                path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name").to_owned();
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let conns = parse(&name, &text);
            (name, conns)
        })
        .collect()
}

fn unhex(s: &str, context: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "{context}: odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .unwrap_or_else(|_| panic!("{context}: bad hex {:?}", &s[i..i + 2]))
        })
        .collect()
}

/// Parses one capture file.
pub(crate) fn parse(file: &str, text: &str) -> Vec<Conn> {
    let mut conns: Vec<Conn> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let context = format!("{file}:{}", index + 1);
        let line = raw.split('#').next().unwrap_or("").trim_end();
        if line.is_empty() {
            continue;
        }
        let (tag, rest) =
            line.split_once(' ').unwrap_or_else(|| panic!("{context}: no tag in {raw:?}"));
        let rest = rest.trim();
        if tag == "conn>" {
            let number = rest
                .split(':')
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{context}: conn without a number"));
            conns.push(Conn {
                file: file.to_owned(),
                number,
                label: rest.to_owned(),
                events: Vec::new(),
            });
            continue;
        }
        let conn =
            conns.last_mut().unwrap_or_else(|| panic!("{context}: event before the first conn>"));
        let event = match (tag, rest) {
            ("peer>", "EOF") => Event::PeerEof,
            ("peer>", "RST") => Event::PeerRst,
            ("ours>", "EOF") => Event::OursEof,
            ("peer>", hex) => Event::Peer(unhex(hex, &context)),
            ("ours>", hex) => Event::Ours(unhex(hex, &context)),
            ("peer+", hex) => {
                match conn.events.last_mut() {
                    Some(Event::Peer(bytes)) => bytes.extend(unhex(hex, &context)),
                    other => panic!("{context}: peer+ after {other:?}"),
                }
                continue;
            }
            ("ours+", hex) => {
                match conn.events.last_mut() {
                    Some(Event::Ours(bytes)) => bytes.extend(unhex(hex, &context)),
                    other => panic!("{context}: ours+ after {other:?}"),
                }
                continue;
            }
            _ => panic!("{context}: unknown tag {tag:?}"),
        };
        conn.events.push(event);
    }
    conns
}
