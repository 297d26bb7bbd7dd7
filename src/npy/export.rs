//! Values as CSV cells and JSON, for tools other than Python.
//!
//! CSV cells read back exactly: floats in their shortest round-trip form for
//! their own width (`0.1` for a float32 0.1, `1e+16`, `nan`, `inf`),
//! integers in full, booleans `True`/`False`, datetimes in ISO 8601 (`NaT`),
//! timedeltas as their count of units, complex numbers as Python writes them
//! (`(1+2j)`), strings quoted only when they must be (RFC 4180); bytes as a
//! Python bytes literal (`b'ab\x00'`), which Python's `ast.literal_eval`
//! reads back.
//!
//! JSON is what `a.tolist()` holds, in strict JSON: NaN and ±Inf become
//! `null`, a complex number `[real, imag]`, a record an array of its fields,
//! a datetime its ISO string, a timedelta its count of units, bytes a string
//! (UTF-8 when valid, else one character per byte, Latin-1).

use serde_json::Value as Json;

use super::print::{datetime_string, float_str, py_bytes_repr, scalar_str, PrintOptions};
use super::values::{ElementType, Value};

/// The CSV column names of one element: one per field of a record (nested
/// records as `outer.inner`, subarray fields as `name[i]`), `None` for
/// anything else.
pub fn csv_header(ty: &ElementType) -> Option<Vec<String>> {
    let ElementType::Record { .. } = ty else {
        return None;
    };
    let mut out = Vec::new();
    columns(ty, "", &mut out);
    Some(out)
}

fn columns(ty: &ElementType, prefix: &str, out: &mut Vec<String>) {
    match ty {
        ElementType::Record { fields, .. } => {
            for f in fields {
                let name = if prefix.is_empty() {
                    f.name.clone()
                } else {
                    format!("{prefix}.{}", f.name)
                };
                columns(&f.ty, &name, out);
            }
        }
        ElementType::Sub { base, shape } => {
            let n: u64 = shape.iter().product();
            for i in 0..n {
                columns(base, &format!("{prefix}[{i}]"), out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// The CSV cells of one element (several for a record).
pub fn csv_cells(ty: &ElementType, v: &Value, out: &mut Vec<String>) {
    match (ty, v) {
        (ElementType::Record { fields, .. }, Value::Record(vs)) => {
            for (f, x) in fields.iter().zip(vs) {
                csv_cells(&f.ty, x, out);
            }
        }
        (ElementType::Sub { base, .. }, Value::Sub(vs)) => {
            for x in vs {
                csv_cells(base, x, out);
            }
        }
        (_, Value::Float(x, w)) => out.push(float_str(*x, *w)),
        (_, Value::Str(s)) => out.push(csv_quote(s)),
        (_, Value::Bytes(b)) | (_, Value::Void(b)) => out.push(csv_quote(&py_bytes_repr(b))),
        (_, Value::Timedelta(Some(t))) => out.push(t.to_string()),
        _ => out.push(scalar_str(ty, v, &PrintOptions::default())),
    }
}

fn csv_quote(s: &str) -> String {
    // An empty string is quoted, so that a one-column row of it is not an
    // empty line (which CSV readers skip).
    let needs = s.is_empty()
        || s.contains([',', '"', '\n', '\r'])
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn bytes_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

fn float_json(x: f64) -> Json {
    serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)
}

/// One element as JSON, as `.tolist()` holds it.
pub fn json_value(ty: &ElementType, v: &Value) -> Json {
    match (ty, v) {
        (_, Value::Bool(b)) => Json::Bool(*b),
        (_, Value::Int(i)) => Json::from(*i),
        (_, Value::UInt(u)) => Json::from(*u),
        (_, Value::Float(x, _)) => float_json(*x),
        (_, Value::Complex(r, i, _)) => Json::Array(vec![float_json(*r), float_json(*i)]),
        (_, Value::Str(s)) => Json::String(s.clone()),
        (_, Value::Bytes(b)) | (_, Value::Void(b)) => Json::String(bytes_text(b)),
        (_, Value::Datetime(None)) | (_, Value::Timedelta(None)) => Json::Null,
        (ElementType::Datetime { unit, .. }, Value::Datetime(Some(d))) => {
            Json::String(datetime_string(*d, unit))
        }
        (_, Value::Datetime(Some(d))) => Json::from(*d),
        (_, Value::Timedelta(Some(t))) => Json::from(*t),
        (ElementType::Record { fields, .. }, Value::Record(vs)) => Json::Array(
            fields
                .iter()
                .zip(vs)
                .map(|(f, x)| json_value(&f.ty, x))
                .collect(),
        ),
        (ElementType::Sub { base, shape }, Value::Sub(vs)) => nest(base, shape, vs),
        _ => Json::Null,
    }
}

fn nest(base: &ElementType, shape: &[u64], vs: &[Value]) -> Json {
    match shape.split_first() {
        None => vs.first().map_or(Json::Null, |v| json_value(base, v)),
        Some((&n, rest)) => {
            let step = vs.len().checked_div(n as usize).unwrap_or(0);
            Json::Array(
                (0..n as usize)
                    .map(|i| nest(base, rest, &vs[i * step..(i + 1) * step]))
                    .collect(),
            )
        }
    }
}

/// Elements of `shape` (C order) as nested JSON arrays.
pub fn json_array(ty: &ElementType, shape: &[u64], vs: &[Value]) -> Json {
    match shape.split_first() {
        None => vs.first().map_or(Json::Null, |v| json_value(ty, v)),
        Some((&n, rest)) => {
            let step = vs.len().checked_div(n as usize).unwrap_or(0);
            Json::Array(
                (0..n as usize)
                    .map(|i| json_array(ty, rest, &vs[i * step..(i + 1) * step]))
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::values::FloatWidth;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_quote("abc"), "abc");
        assert_eq!(csv_quote("a,b"), "\"a,b\"");
        assert_eq!(csv_quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn floats_round_trip_for_their_width() {
        let ty = ElementType::Float {
            width: FloatWidth::F32,
            big: false,
        };
        let mut out = vec![];
        csv_cells(&ty, &Value::Float(0.1f32 as f64, FloatWidth::F32), &mut out);
        assert_eq!(out, ["0.1"]);
        assert_eq!(
            json_value(&ty, &Value::Float(f64::NAN, FloatWidth::F32)),
            Json::Null
        );
    }
}
