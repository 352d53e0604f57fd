//! What the render uses of an Inventory ([`InventoryUse`]: `sources.scenario`, each service's
//! name and image), picked out of the JSON text without tokenising the rest.
//!
//! The render needs a few hundred bytes of a 33-service Inventory's 224 KB; serde's typed read
//! with every other field skipped still tokenises all of it (2.8M instructions, on the render's
//! critical path in `wd-inventory | wd-render`). This scanner walks the text with a table
//! lookup a byte, stopping only at quotes and brackets, and decodes only the strings it keeps.
//!
//! It is a fast path, never a second opinion: [`scan`] returns `None` at anything it does not
//! read exactly as serde does (a duplicate key it cares about, a value of another shape than
//! the usual one, a truncated text), and the caller then uses serde's read. Whatever the
//! scanner accepts, the whole Inventory is still parsed and checked, typed, on another thread
//! before anything is written ([`crate::InventoryCheck`]), so malformed JSON in the parts it
//! skips is reported exactly as before. tests/quickread.rs holds it to serde's result.

use crate::context::{ImageUse, InventoryUse, ServiceUse, SourcesUse};
use std::borrow::Cow;

/// Bytes that end a run inside a string: its closing quote, or an escape.
const IN_STRING: [bool; 256] = table(b"\"\\");
/// Bytes that matter while skipping a container: a string's start, an opening or closing bracket.
const IN_CONTAINER: [bool; 256] = table(b"\"{}[]");

const fn table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
}

/// Offset of the first byte of `b` that `stop` marks. A table lookup a byte: strings in an
/// Inventory are short (a call to memchr per string cost more than it saved) and the
/// indentation between them is the rest.
fn next_of(b: &[u8], stop: &[bool; 256]) -> Option<usize> {
    b.iter().position(|&c| stop[c as usize])
}

/// [`InventoryUse`] from an Inventory's text, or `None` (then read it with serde).
pub fn scan(text: &str) -> Option<InventoryUse> {
    let mut read = Incremental::default();
    read.feed(text.as_bytes(), true);
    read.finish()
}

/// Where a scan stands between two pieces of the text.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum At {
    /// Before the top-level `{`.
    #[default]
    Start,
    /// In the top-level object, before a key or its `}` (`first`: nothing read yet).
    Key { first: bool },
    /// In `services`, before an element or its `]`.
    Service { first: bool },
    /// After the top-level `}`.
    End,
    /// Declined: serde reads this text.
    Declined,
}

/// The scan of a text that arrives in pieces (`wd-inventory | wd-render`: wd-inventory writes
/// its JSON 64 KiB at a time while it serialises, so most of the scan is done while the rest
/// is still being written, instead of after). It stops at the last complete top-level field
/// or service and starts there again when more has arrived; what it read stays read.
#[derive(Debug, Default)]
pub struct Incremental {
    at: At,
    /// Where the next step starts: the end of the last complete field or service.
    pos: usize,
    sources: Option<SourcesUse>,
    services: Option<Vec<ServiceUse>>,
}

impl Incremental {
    /// Reads as far as `text` allows. `text` is the Inventory's first bytes, the same bytes
    /// and more at every call; `complete` when it is all of it (then any step that cannot
    /// finish declines).
    pub fn feed(&mut self, text: &[u8], complete: bool) {
        while !matches!(self.at, At::End | At::Declined) {
            let mut s = Scanner {
                b: text,
                i: self.pos,
            };
            match self.step(&mut s) {
                Some(()) => self.pos = s.i,
                None if complete => self.at = At::Declined,
                None => return,
            }
        }
        if self.at == At::End {
            let mut s = Scanner {
                b: text,
                i: self.pos,
            };
            s.ws();
            // Only white space may follow (and may still be arriving).
            if s.i != text.len() {
                self.at = At::Declined;
            }
        }
    }

    /// What was read, once [`Self::feed`] was given the whole text; `None`: let serde read it.
    pub fn finish(self) -> Option<InventoryUse> {
        (self.at == At::End).then(|| InventoryUse {
            sources: self.sources.unwrap_or_default(),
            services: self.services.unwrap_or_default(),
        })
    }

    /// One top-level field, or one service: the state changes only when it was read whole.
    fn step(&mut self, s: &mut Scanner<'_>) -> Option<()> {
        match self.at {
            At::Start => {
                s.eat(b'{')?;
                self.at = At::Key { first: true };
            }
            At::Key { first } => {
                s.ws();
                if s.peek()? == b'}' {
                    s.i += 1;
                    self.at = At::End;
                    return Some(());
                }
                if !first {
                    s.eat(b',')?;
                }
                let key = s.string()?;
                s.eat(b':')?;
                match key.as_ref() {
                    "services" if self.services.is_none() => {
                        s.eat(b'[')?;
                        self.services = Some(Vec::new());
                        self.at = At::Service { first: true };
                        return Some(());
                    }
                    "sources" if self.sources.is_none() => self.sources = Some(s.sources()?),
                    "sources" | "services" => {
                        self.at = At::Declined;
                        return Some(());
                    }
                    _ => s.skip_value()?,
                }
                self.at = At::Key { first: false };
            }
            At::Service { first } => {
                s.ws();
                if s.peek()? == b']' {
                    s.i += 1;
                    self.at = At::Key { first: false };
                    return Some(());
                }
                if !first {
                    s.eat(b',')?;
                }
                let service = s.service()?;
                self.services.get_or_insert_with(Vec::new).push(service);
                self.at = At::Service { first: false };
            }
            At::End | At::Declined => {}
        }
        Some(())
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON's white space (RFC 8259 §2).
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// The end (exclusive) of the string whose opening quote is at `self.i`, and whether it
    /// has an escape. Control characters are left to the full parse (see the module doc).
    fn string_end(&self) -> Option<(usize, bool)> {
        let mut j = self.i + 1;
        let mut escaped = false;
        loop {
            j += next_of(&self.b[j..], &IN_STRING)?;
            if self.b[j] == b'"' {
                return Some((j + 1, escaped));
            }
            escaped = true;
            j += 2;
            if j > self.b.len() {
                return None;
            }
        }
    }

    /// A string, decoded (by serde_json when it has escapes).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        let (end, escaped) = self.string_end()?;
        let raw = &self.b[self.i..end];
        self.i = end;
        if escaped {
            serde_json::from_slice::<String>(raw).ok().map(Cow::Owned)
        } else {
            // Valid UTF-8: the text is a &str and the slice ends at ASCII quotes.
            std::str::from_utf8(&raw[1..raw.len() - 1])
                .ok()
                .map(Cow::Borrowed)
        }
    }

    /// `null`, or a string.
    fn opt_string(&mut self) -> Option<Option<String>> {
        self.ws();
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            return Some(None);
        }
        self.string().map(|s| Some(s.into_owned()))
    }

    /// An object: `f` is called at each value with its key and must consume the value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            f(self, &key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn sources(&mut self) -> Option<SourcesUse> {
        let mut scenario: Option<Option<String>> = None;
        self.object(|s, key| {
            match key {
                "scenario" if scenario.is_none() => scenario = Some(s.opt_string()?),
                "scenario" => return None,
                _ => s.skip_value()?,
            }
            Some(())
        })?;
        Some(SourcesUse {
            scenario: scenario.flatten(),
        })
    }

    fn service(&mut self) -> Option<ServiceUse> {
        let mut name: Option<String> = None;
        let mut image: Option<Option<ImageUse>> = None;
        self.object(|s, key| {
            match key {
                "name" if name.is_none() => name = Some(s.string()?.into_owned()),
                "image" if image.is_none() => image = Some(s.image()?),
                "name" | "image" => return None,
                _ => s.skip_value()?,
            }
            Some(())
        })?;
        Some(ServiceUse {
            name: name?,
            image: image.flatten(),
        })
    }

    fn image(&mut self) -> Option<Option<ImageUse>> {
        self.ws();
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            return Some(None);
        }
        let mut repository: Option<String> = None;
        let mut tag: Option<Option<String>> = None;
        let mut digest: Option<Option<String>> = None;
        self.object(|s, key| {
            match key {
                "repository" if repository.is_none() => repository = Some(s.string()?.into_owned()),
                "tag" if tag.is_none() => tag = Some(s.opt_string()?),
                "digest" if digest.is_none() => digest = Some(s.opt_string()?),
                "repository" | "tag" | "digest" => return None,
                _ => s.skip_value()?,
            }
            Some(())
        })?;
        Some(Some(ImageUse {
            repository: repository?,
            tag: tag.flatten(),
            digest: digest.flatten(),
        }))
    }

    /// Skips one value of any kind (its validity is the full parse's business).
    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => {
                self.i = self.string_end()?.0;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    self.i += next_of(&self.b[self.i..], &IN_CONTAINER)?;
                    match self.b[self.i] {
                        b'"' => {
                            self.i = self.string_end()?.0;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                // A number, true, false or null: up to the next delimiter.
                let start = self.i;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
                // Nothing, or the end of what has arrived (the number may go on).
                if self.i == start || self.i == self.b.len() {
                    return None;
                }
            }
        }
        Some(())
    }
}
