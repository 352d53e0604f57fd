//! Where a YAML node is: `line:col` of a field path such as `services.b.ports[0]`, from the
//! parser's own marks.
//!
//! serde_norway gives a location for syntax errors but its `Value` tree keeps none, so the
//! normaliser cannot say where a value it rejects is. Rather than search the text for the first
//! matching fragment (which points at service a for an error in service b), we replay the file
//! through granit-parser's event parser (already in the lockfile under serde-saphyr; safe Rust;
//! every event has a span) and index each node by its path. The index is built only when an
//! error is reported: a valid file is parsed once.

use granit_parser::{Event, Parser, Span, SpannedEventReceiver};
use std::collections::HashMap;

/// A node's place in the source: 1-based line and column, and its byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub col: usize,
    pub start: usize,
    pub end: usize,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Index {
    stack: Vec<Frame>,
    /// Path -> index into `places` (first occurrence wins).
    by_path: HashMap<String, usize>,
    places: Vec<Place>,
    /// Open collections: index into `places` whose end is set at their end event.
    open: Vec<usize>,
    done: bool,
}

fn byte_of(text: &str, m: &granit_parser::Marker) -> usize {
    if let Some(b) = m.byte_offset() {
        return b.min(text.len());
    }
    text.char_indices()
        .nth(m.index())
        .map(|(b, _)| b)
        .unwrap_or(text.len())
}

impl Index {
    fn child_path(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, key }) => {
                let k = key.take()?;
                Some(if path.is_empty() {
                    k
                } else {
                    format!("{path}.{k}")
                })
            }
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                Some(p)
            }
        }
    }

    fn record(&mut self, path: String, place: Place) -> usize {
        let i = self.places.len();
        self.places.push(place);
        self.by_path.entry(path).or_insert(i);
        i
    }
}

struct Receiver<'t> {
    text: &'t str,
    ix: Index,
}

impl<'input> SpannedEventReceiver<'input> for Receiver<'_> {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        if self.ix.done {
            return;
        }
        let start = byte_of(self.text, &span.start);
        let end = byte_of(self.text, &span.end);
        let place = Place {
            line: span.start.line(),
            col: span.start.col() + 1,
            start,
            end,
        };
        let is_node = matches!(
            ev,
            Event::Scalar(..)
                | Event::Alias(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
        );
        if is_node {
            // A key of the mapping on top of the stack?
            if let Some(Frame::Map { key, .. }) = self.ix.stack.last_mut() {
                if key.is_none() {
                    *key = Some(match &ev {
                        Event::Scalar(v, ..) => v.to_string(),
                        _ => "?".into(),
                    });
                    // A complex key's children are not indexed.
                    if matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..)) {
                        self.ix.stack.push(Frame::Seq {
                            path: "\u{0}".into(),
                            index: 0,
                        });
                        self.ix.open.push(usize::MAX);
                    }
                    return;
                }
            }
            let Some(path) = self.ix.child_path() else {
                return;
            };
            let i = self.ix.record(path.clone(), place);
            match ev {
                Event::MappingStart(..) => {
                    self.ix.stack.push(Frame::Map { path, key: None });
                    self.ix.open.push(i);
                }
                Event::SequenceStart(..) => {
                    self.ix.stack.push(Frame::Seq { path, index: 0 });
                    self.ix.open.push(i);
                }
                _ => {}
            }
            return;
        }
        match ev {
            Event::MappingEnd | Event::SequenceEnd => {
                self.ix.stack.pop();
                if let Some(i) = self.ix.open.pop() {
                    if let Some(p) = self.ix.places.get_mut(i) {
                        p.end = end.max(p.start);
                    }
                }
            }
            Event::DocumentEnd => self.ix.done = true,
            _ => {}
        }
    }
}

/// Every node of the first document, by path.
pub struct Marks {
    by_path: HashMap<String, Place>,
}

impl Marks {
    pub fn new(text: &str) -> Marks {
        let mut r = Receiver {
            text,
            ix: Index::default(),
        };
        let _ = Parser::new_from_str(text).load(&mut r, false);
        let places = r.ix.places;
        Marks {
            by_path: r
                .ix
                .by_path
                .into_iter()
                .map(|(k, i)| (k, places[i]))
                .collect(),
        }
    }

    /// The node at `path`, else its nearest ancestor that is in the file (a value that came
    /// from a `<<` merge key or an alias is reported where it is used).
    pub fn find(&self, path: &str) -> Option<Place> {
        let mut p = path;
        loop {
            if let Some(pl) = self.by_path.get(p) {
                return Some(*pl);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

/// (line, column), 1-based, of a byte offset.
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    let before = &text[..o];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Where `fragment` (text of the value at `path`) is: searched inside that node's span only, so
/// the same text elsewhere in the file is never taken for it. Falls back to the node's start.
pub fn locate(text: &str, path: &str, fragment: &str) -> Option<(usize, usize)> {
    let marks = Marks::new(text);
    let place = marks.find(path)?;
    if !fragment.is_empty() {
        let end = place.end.max(place.start).min(text.len());
        let start = place.start.min(end);
        if let Some(hay) = text.get(start..end) {
            if let Some(i) = hay.find(fragment) {
                return Some(position(text, start + i));
            }
        }
    }
    Some((place.line, place.col))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "services:\n  a:\n    image: x:${A}\n    ports: [\"80\"]\n  b:\n    image: \"y:${A\"\n    ports:\n      - \"80\"\n      - \"bad\"\n";

    #[test]
    fn paths_point_at_their_own_node() {
        let m = Marks::new(YAML);
        let p = m.find("services.b.ports[1]").unwrap();
        assert_eq!((p.line, p.col), (9, 9));
        let p = m.find("services.a.ports[0]").unwrap();
        assert_eq!((p.line, p.col), (4, 13));
        // an unknown child falls back to its parent
        assert_eq!(m.find("services.b.ports[7]").unwrap().line, 8);
        assert_eq!(locate(YAML, "services.b.image", "${A"), Some((6, 15)));
        assert_eq!(locate(YAML, "services.a.image", "${A"), Some((3, 14)));
    }

    #[test]
    fn broken_yaml_does_not_panic() {
        let m = Marks::new("a: [\n  b: {\n");
        let _ = m.find("a");
        assert_eq!(position("ab\ncd", 4), (2, 2));
    }
}
