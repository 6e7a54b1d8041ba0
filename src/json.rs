//! JSON for the two documents the credential handles: Entra's token responses (read) and claims
//! challenges (read, merged, written). Numbers keep their text: the credential needs only whole
//! seconds and error codes from them, and float parsing and printing would be a fifth of the
//! component. Strict RFC 8259, as serde_json is (the `json` fuzz target compares the two).

use crate::prelude::*;
use core::cmp::Ordering;
use core::fmt;

/// Deeper nesting is refused instead of recursing further (serde_json's limit too).
const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// The number as it was written, e.g. `3599` or `-1.5e3`.
    Number(String),
    /// A string, escapes decoded.
    String(String),
    /// An array, in order.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

/// An object's members in the order written; a key given twice keeps its last value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object(Vec<(String, Value)>);

impl Object {
    /// An object with no members.
    pub fn new() -> Object {
        Object(Vec::new())
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(name, _)| name == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`, replacing its value if present.
    pub fn insert(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(name, _)| *name == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`, made `default()` first if it is missing or `keep` refuses it.
    pub fn entry_where(
        &mut self,
        key: &str,
        keep: impl Fn(&Value) -> bool,
        default: impl FnOnce() -> Value,
    ) -> &mut Value {
        let index = match self.0.iter().position(|(name, _)| name == key) {
            Some(index) => {
                if !keep(&self.0[index].1) {
                    self.0[index].1 = default();
                }
                index
            }
            None => {
                self.0.push((key.to_owned(), default()));
                self.0.len() - 1
            }
        };
        &mut self.0[index].1
    }
}

impl Value {
    /// The text of a string value; `None` for any other value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }
}

/// Why a document is not JSON, with the byte offset where reading stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The byte offset where reading stopped.
    pub offset: usize,
    /// What is wrong there, e.g. `"nested too deeply"`.
    pub problem: &'static str,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.problem, self.offset)
    }
}

/// Reads one JSON value filling `bytes`, whitespace around it allowed.
pub fn parse(bytes: &[u8]) -> Result<Value, SyntaxError> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.value(MAX_DEPTH)?;
    reader.skip_whitespace();
    if reader.at < bytes.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, problem: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.at,
            problem,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect_literal(&mut self, literal: &[u8], value: Value) -> Result<Value, SyntaxError> {
        if self.bytes[self.at..].starts_with(literal) {
            self.at += literal.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// `depth` is how many more arrays or objects may open inside this value.
    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.expect_literal(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_literal(b"false", Value::Bool(false)),
            Some(b'n') => self.expect_literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn nested(&mut self, depth: usize) -> Result<usize, SyntaxError> {
        self.at += 1;
        depth
            .checked_sub(1)
            .filter(|&inner| inner > 0)
            .ok_or_else(|| self.error("nested too deeply"))
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        let depth = self.nested(depth)?;
        let mut object = Object::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(object));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.at += 1;
            let value = self.value(depth)?;
            object.insert(key, value);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(object));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        let depth = self.nested(depth)?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let leading_zero = self.peek() == Some(b'0');
        match self.digits() {
            0 => return Err(self.error("expected digits")),
            1 => {}
            _ if leading_zero => return Err(self.error("leading zero")),
            _ => {}
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("expected digits after '.'"));
            }
        }
        let mantissa_end = self.at;
        let mut exponent = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let negative = self.peek() == Some(b'-');
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            let digits_start = self.at;
            if self.digits() == 0 {
                return Err(self.error("expected exponent digits"));
            }
            for &digit in &self.bytes[digits_start..self.at] {
                // Capped far beyond any document's length, so that no sum with it overflows.
                exponent = (exponent * 10 + i64::from(digit - b'0')).min(1 << 40);
            }
            if negative {
                exponent = -exponent;
            }
        }
        if beyond_f64(&self.bytes[start..mantissa_end], exponent) {
            return Err(SyntaxError {
                offset: start,
                problem: "number out of range",
            });
        }
        // Only ASCII digits and signs were consumed.
        let text = core::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        Ok(Value::Number(text.to_owned()))
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.at += 1; // the opening quote
        let mut text = String::new();
        loop {
            // Copies the run up to the next quote, escape or control character at once.
            let run = self.bytes[self.at..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or(SyntaxError {
                    offset: self.bytes.len(),
                    problem: "unterminated string",
                })?;
            let chunk = &self.bytes[self.at..self.at + run];
            text.push_str(
                core::str::from_utf8(chunk).map_err(|_| self.error("invalid UTF-8 in a string"))?,
            );
            self.at += run;
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(text);
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = self.escape()?;
                    text.push(escaped);
                }
                _ => return Err(self.error("control character in a string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let Some(kind) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.at += 1;
        Ok(match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return Err(self.error("invalid escape")),
        })
    }

    /// `\uXXXX`, a UTF-16 unit: a surrogate must come in a pair, as RFC 8259 strings are Unicode.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.at..].starts_with(b"\\u") {
                    return Err(self.error("lone surrogate in a \\u escape"));
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone surrogate in a \\u escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in a \\u escape")),
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .ok_or_else(|| self.error("unterminated \\u escape"))?;
        let mut code = 0;
        for &digit in digits {
            let value = (digit as char)
                .to_digit(16)
                .ok_or_else(|| self.error("invalid \\u escape"))?;
            code = code * 16 + value;
        }
        self.at += 4;
        Ok(code)
    }
}

/// Whether a number the reader accepted, `mantissa × 10^exponent` (the mantissa as written, e.g.
/// `-12.5`), is too large for an f64: it rounds to infinity. serde_json refuses such numbers, and
/// so may Entra, so the reader refuses them too; numbers too small for an f64 read as 0 there,
/// and pass. Decided on the digits: float parsing would cost the component more than this.
fn beyond_f64(mantissa: &[u8], exponent: i64) -> bool {
    // The first significant digit ('-' and '.' sort below '0'); none for zero.
    let Some(first) = mantissa.iter().position(|&b| b > b'0') else {
        return false;
    };
    let point = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    // The number is 0.d…​ × 10^magnitude, d its first significant digit. (`first` is never
    // `point`, so `>=` would do as well as `>`: a mutant no test can catch.)
    let magnitude = point as i64 - first as i64 + i64::from(first > point) + exponent;
    match magnitude.cmp(&(F64_OVERFLOW_DIGITS as i64)) {
        Ordering::Less => return false,
        Ordering::Greater => return true,
        Ordering::Equal => {}
    }
    // The number's integer part, from its first 309 significant digits, in 32-bit limbs (10^309
    // < 2^1056)...
    let mut digits = mantissa[first..].iter().filter(|&&b| b != b'.');
    let mut limbs = [0u32; 33];
    for _ in 0..F64_OVERFLOW_DIGITS {
        let mut carry = digits.next().map_or(0, |digit| u64::from(digit - b'0'));
        for limb in &mut limbs {
            let product = u64::from(*limb) * 10 + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
    }
    // ...against 2^1024 − 2^970 = (2^54 − 1) × 2^970, halfway between f64::MAX and 2^1024: the
    // least number that rounds to infinity (a tie rounds to the even 2^1024). A number reaches
    // it when it is 2^1024 or more, or when its bits 970 to 1023 are all set.
    limbs[32] > 0 || (limbs[31] == u32::MAX && limbs[30] >> 10 == u32::MAX >> 10)
}

/// The number of decimal digits of the numbers that may round to infinity as an f64.
const F64_OVERFLOW_DIGITS: usize = 309;

/// Writes compact JSON; strings escaped as RFC 8259 requires.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(true) => f.write_str("true"),
            Value::Bool(false) => f.write_str("false"),
            Value::Number(text) => f.write_str(text),
            Value::String(text) => write_string(f, text),
            Value::Array(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Object(Object(members)) => {
                f.write_str("{")?;
                for (index, (key, value)) in members.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    let mut run_start = 0;
    for (index, c) in text.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            // Every other character JSON requires escaped, as `\u00XX`: one form for all.
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        f.write_str(&text[run_start..index])?;
        if escaped.is_empty() {
            write!(f, "\\u{:04x}", c as u32)?;
        } else {
            f.write_str(escaped)?;
        }
        run_start = index + c.len_utf8();
    }
    f.write_str(&text[run_start..])?;
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Value {
        parse(text.as_bytes()).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn string(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    #[test]
    fn a_token_response_reads_into_values() {
        let Value::Object(object) = parsed(
            r#" {"token_type":"Bearer","expires_in":3599,"ext":"3599","access_token":"a.b.c",
                 "ok":true,"none":null,"codes":[700024, -1.5e3]} "#,
        ) else {
            panic!("not an object");
        };
        assert_eq!(object.get("token_type"), Some(&string("Bearer")));
        assert_eq!(
            object.get("expires_in"),
            Some(&Value::Number("3599".into()))
        );
        assert_eq!(object.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(object.get("none"), Some(&Value::Null));
        assert_eq!(
            object.get("codes"),
            Some(&Value::Array(vec![
                Value::Number("700024".into()),
                Value::Number("-1.5e3".into())
            ]))
        );
        assert_eq!(object.get("missing"), None);
    }

    #[test]
    fn escapes_and_surrogate_pairs_decode() {
        assert_eq!(
            parsed(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00é""#),
            string("a\"b\\c/d\u{8}\u{c}\n\r\té😀é")
        );
    }

    #[test]
    fn a_key_given_twice_keeps_its_last_value() {
        let Value::Object(object) = parsed(r#"{"a":1,"b":2,"a":3}"#) else {
            panic!("not an object");
        };
        assert_eq!(object.get("a"), Some(&Value::Number("3".into())));
        assert_eq!(
            parsed(r#"{"a":1,"b":2,"a":3}"#).to_string(),
            r#"{"a":3,"b":2}"#
        );
    }

    #[test]
    fn what_is_not_strict_json_is_refused() {
        for bad in [
            "",
            " ",
            "{",
            "{\"a\"}",
            "{\"a\":1,}",
            "[1,]",
            "[1 2]",
            "{a:1}",
            "'a'",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "NaN",
            "tru",
            "nul",
            "\"unterminated",
            "\"bad \\x escape\"",
            "\"lone \\ud800 surrogate\"",
            "\"lone \\udc00 surrogate\"",
            "\"\\ud800\\u0041\"",
            "\"\\u12\"",
            "\"tab\tinside\"",
            "{} {}",
            "1 x",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?} accepted");
        }
        assert!(parse(b"\"\xff\"").is_err());
    }

    #[test]
    fn each_refusal_names_its_problem_and_where() {
        for (bad, problem, offset) in [
            ("[1 2]", "expected ',' or ']'", 3),
            ("{\"a\" 1}", "expected ':'", 5),
            ("\"\\ud800\\u0041\"", "lone surrogate in a \\u escape", 13),
            ("\"\\udc00\"", "lone surrogate in a \\u escape", 7),
            ("\"\\u12x4\"", "invalid \\u escape", 3),
            ("\"\\u12\"", "unterminated \\u escape", 3),
            ("\"abc", "unterminated string", 4),
            ("[1,", "unexpected end of input", 3),
        ] {
            assert_eq!(
                parse(bad.as_bytes()),
                Err(SyntaxError { offset, problem }),
                "{bad}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let serde_accepts = |n| serde_json::from_str::<serde_json::Value>(&deep(n)).is_ok();
        assert!(parse(deep(127).as_bytes()).is_ok());
        assert!(serde_accepts(127));
        for n in [128, 100_000] {
            let error = parse(deep(n).as_bytes()).unwrap_err();
            assert_eq!(error.problem, "nested too deeply");
            assert!(!serde_accepts(n));
        }
    }

    #[test]
    fn writing_escapes_what_json_requires_and_round_trips() {
        let value = Value::Array(vec![
            string("quote\" backslash\\ newline\n bell\u{7} é 😀"),
            Value::Number("-1.5e3".into()),
            Value::Bool(false),
            Value::Null,
            Value::Object(Object::new()),
        ]);
        let written = value.to_string();
        assert_eq!(
            written,
            r#"["quote\" backslash\\ newline\u000a bell\u0007 é 😀",-1.5e3,false,null,{}]"#
        );
        assert_eq!(parsed(&written), value);
    }

    /// 2^1024 − 2^970, the least number that rounds to infinity as an f64.
    const LEAST_BEYOND_F64: &str = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

    #[test]
    fn numbers_are_refused_exactly_when_an_f64_cannot_hold_them() {
        let least = LEAST_BEYOND_F64;
        let just_below = format!("{}1", &least[..308]);
        for number in [
            "0",
            "-0",
            "1e308",
            "1.7976931348623157e308",
            "-1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1.8e308",
            "1e309",
            "-1e309",
            "10e308",
            "0.1e310",
            "0.01e310",
            "0.0001797693134862315e312",
            "17976931348623157e292",
            "179769313486231580000e288",
            "2e308",
            "0e999999",
            "0.000e99999999999999999999",
            "-0.0E+99999999999999999999",
            "1e-99999999999999999999",
            "1e-400",
            "1e99999999999999999999",
            "3166666666666666666666666666.66E6666",
            least,
            &format!("-{least}"),
            &just_below,
            &format!("{least}.000"),
            &format!("{least}e-1"),
            &format!("{just_below}.99999999999999999999"),
            &format!("{least}0e-1"),
            &format!("0.{least}e309"),
            &format!("0.000{least}E+312"),
            &format!("{}.{}e1", &least[..308], &least[308..]),
            &format!("0.{just_below}9e309"),
        ] {
            let an_f64_holds_it = number.parse::<f64>().unwrap().is_finite();
            match parse(number.as_bytes()) {
                Ok(value) => {
                    assert!(an_f64_holds_it, "{number} accepted");
                    assert_eq!(value, Value::Number(number.to_owned()));
                }
                Err(error) => {
                    assert!(!an_f64_holds_it, "{number} refused: {error}");
                    assert_eq!(error.problem, "number out of range");
                }
            }
        }
    }

    #[test]
    fn a_number_out_of_range_is_reported_where_it_starts() {
        let error = parse(br#"{"k": [1, -2e400]}"#).unwrap_err();
        assert_eq!(error.to_string(), "number out of range at byte 10");
    }

    #[test]
    fn agrees_with_serde_json_on_every_sample() {
        for sample in [
            r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#,
            r#"[0,-0,1e5,1E+5,1.25e-3,123456789012345678901234567890]"#,
            r#"{"a":{"b":[{"c":"\u0041\n"}]},"d":[]}"#,
            "\t\r\n{ \"a\" : [ 1 , 2 ] }\n",
        ] {
            let ours = parsed(sample).to_string();
            let theirs: serde_json::Value = serde_json::from_str(sample).unwrap();
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&ours).unwrap(),
                theirs,
                "{sample}"
            );
        }
    }
}
