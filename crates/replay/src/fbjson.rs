//! The JSON text a module receives on a real Fluent Bit: what
//! `flb_msgpack_to_json_str` (src/flb_pack.c, `msgpack2json`) prints for a
//! record body, with strings escaped like `flb_utils_write_str` in its
//! default `json.escape_unicode on` mode (src/flb_utils.c).
//!
//! - compact: `{"k":v,"k2":v2}`, `[a,b]`, no spaces; keys in record order;
//! - integers in decimal; floats with an integral value as `%.1f` (`3.0`),
//!   others as `%.16g` (`0.1`, `1e-07`, `1e+20`);
//! - strings: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control
//!   characters and DEL as `\u00XX` (lower-case hex), `/` unescaped, every
//!   non-ASCII character as `\uXXXX` (lower-case), above U+FFFF as a UTF-16
//!   surrogate pair (the x86-64 behaviour: `str` is a signed `char` there,
//!   so every non-ASCII byte takes the surrogate-aware branch).
//!
//! Not representable in a `serde_json::Value` and so not covered: NaN and
//! infinities, duplicate keys (Fluent Bit prints the last one at its
//! position), msgpack bin/ext values and invalid UTF-8.

use serde_json::Value;

/// The JSON text Fluent Bit would hand a JSON-mode filter for this record
/// body (no NUL; the host appends it).
pub fn fluent_bit_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(f) = n.as_f64() {
                write_float(out, f);
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// `"%.1f"` when `f == (double)(long long)f`, else `"%.16g"`. On x86-64 the
/// cast of an out-of-range value yields INT64_MIN, so only values in
/// [-2^63, 2^63) with no fraction take the `%.1f` branch.
fn write_float(out: &mut Vec<u8>, f: f64) {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
        out.extend_from_slice(format!("{f:.1}").as_bytes());
    } else {
        write_g16(out, f);
    }
}

/// C's `printf("%.16g", f)` for a finite `f`.
fn write_g16(out: &mut Vec<u8>, f: f64) {
    const P: i32 = 16;
    // d.ddddddddddddddde<exp>: 16 significant digits, correctly rounded.
    let sci = format!("{:.*e}", (P - 1) as usize, f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if f.is_sign_negative() {
        out.push(b'-');
    }
    if (-4..P).contains(&exp) {
        // Fixed notation with P - 1 - exp decimals, trailing zeros removed.
        let mut text = Vec::with_capacity(24);
        if exp >= 0 {
            let int_len = exp as usize + 1;
            text.extend_from_slice(&digits[..int_len]);
            text.push(b'.');
            text.extend_from_slice(&digits[int_len..]);
        } else {
            text.extend_from_slice(b"0.");
            text.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            text.extend_from_slice(&digits);
        }
        trim_fraction(&mut text);
        out.extend_from_slice(&text);
    } else {
        let mut text = Vec::with_capacity(24);
        text.push(digits[0]);
        text.push(b'.');
        text.extend_from_slice(&digits[1..]);
        trim_fraction(&mut text);
        out.extend_from_slice(&text);
        out.extend_from_slice(
            format!("e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs()).as_bytes(),
        );
    }
}

/// Drops trailing zeros after the point, then the point itself if bare.
fn trim_fraction(text: &mut Vec<u8>) {
    if text.contains(&b'.') {
        while text.last() == Some(&b'0') {
            text.pop();
        }
        if text.last() == Some(&b'.') {
            text.pop();
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_u4(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xf) as usize]);
    }
}

/// `"` + `flb_utils_write_str_escaped` + `"`.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\0'..='\u{1f}' | '\u{7f}' => write_u4(out, c as u32),
            ' '..='\u{7e}' => out.push(c as u8),
            _ => {
                let cp = c as u32;
                if cp > 0xffff {
                    let v = cp - 0x10000;
                    write_u4(out, 0xd800 + (v >> 10));
                    write_u4(out, 0xdc00 + (v & 0x3ff));
                } else {
                    write_u4(out, cp);
                }
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(f: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_print_like_printf() {
        assert_eq!(g(3.0), "3.0");
        assert_eq!(g(-0.0), "-0.0");
        assert_eq!(g(1e15), "1000000000000000.0");
        assert_eq!(g(0.1), "0.1");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(-2.25), "-2.25");
        assert_eq!(g(0.1 + 0.2), "0.3");
        assert_eq!(g(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(g(123456.789), "123456.789");
        assert_eq!(g(1e-7), "1e-07");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00012345), "0.00012345");
        assert_eq!(g(1e20), "1e+20");
        assert_eq!(g(1.5e300), "1.5e+300");
        assert_eq!(g(-1.25e-300), "-1.25e-300");
        assert_eq!(g(9_223_372_036_854_775_808.0), "9.223372036854776e+18");
        assert_eq!(g(-9_223_372_036_854_775_808.0), "-9223372036854775808.0");
        assert_eq!(g(1234567890123456.7), "1234567890123457");
        assert_eq!(g(1e23), "9.999999999999999e+22");
    }
}
