//! The documents' wire form: serde_json's pretty JSON (two spaces a level), byte for byte, with
//! each line break and its indentation written as one slice.
//!
//! serde_json's `PrettyFormatter` writes the indentation one level at a time (a `write_all` per
//! level, per key and per array item): for an Inventory, whose env references sit six levels
//! deep, that was a quarter of wd-inventory's serialising (issue 11). The bytes are the same;
//! tests below hold them to `serde_json::to_string_pretty`.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

/// A line break and enough indentation for 63 levels; deeper levels write it in pieces.
const BREAK: &[u8; 127] = b"
                                                                                                                              ";

/// serde_json's `PrettyFormatter::new()` (indent "  "), same output.
#[derive(Default)]
pub struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        let mut spaces = self.level * 2;
        let first = spaces.min(BREAK.len() - 1);
        w.write_all(&BREAK[..1 + first])?;
        spaces -= first;
        while spaces > 0 {
            let n = spaces.min(BREAK.len() - 1);
            w.write_all(&BREAK[1..1 + n])?;
            spaces -= n;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, c: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(c)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, c: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(c)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `serde_json::to_writer_pretty`, the same bytes.
pub fn to_writer<W: Write, T: ?Sized + Serialize>(w: W, v: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Pretty::default());
    v.serialize(&mut ser)
}

/// `serde_json::to_string_pretty`, the same text.
pub fn to_string<T: ?Sized + Serialize>(v: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(4096);
    to_writer(&mut out, v)?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Nested `depth` levels of objects and arrays, with empty ones between.
    fn nested(depth: usize) -> Value {
        let mut v = json!({"leaf": [1, "x", null, {}, []], "e": {}});
        for i in 0..depth {
            v = if i % 2 == 0 {
                json!({"k": v, "empty": [], "s": "a\"b\n"})
            } else {
                json!([v, {}, [], true, 1.5])
            };
        }
        v
    }

    #[test]
    fn same_bytes_as_serde_json_pretty() {
        for v in [
            json!(null),
            json!([]),
            json!({}),
            json!([[]]),
            json!({"a": {}}),
            json!({"a": [{"b": []}], "c": "é\u{1}"}),
            nested(3),
            nested(70),
            nested(140),
        ] {
            assert_eq!(
                to_string(&v).unwrap(),
                serde_json::to_string_pretty(&v).unwrap(),
                "{v}"
            );
        }
    }
}
