//! `npy diff [--rtol R] [--atol A] [--equal-nan] [--json] A B`: whether two
//! files hold the same array, as `np.array_equal` (or `np.isclose`) decides,
//! and where they differ. Exit status as `cmp`: 0 equal, 1 different,
//! 2 trouble.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::{json, Map, Value};

use crate::npy::diff::{compare, Largest, Options, Verdict};
use crate::npy::header::shape_repr;
use crate::npy::view::index_repr;
use crate::progress::Progress;
use crate::Outcome;

use super::stats::{json_val, open_view};

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Exit status, as cmp and diff: 0 the arrays are equal, 1 they differ,
2 trouble (a file cannot be read or is not one whole array, a bad option).
Equal means the same dtype (as numpy compares dtypes: '<u1' is '|u1', '<f8'
is not '>f8'), the same shape and equal values in logical order: NaN is not
equal to NaN (unless --equal-nan), -0.0 equals 0.0, strings and raw bytes
compare byte for byte, records field by field. The header's version,
padding and key order, and C versus Fortran storage, never matter.
A and B may be members of .npz archives, ARCHIVE.npz:NAME.

With --rtol or --atol, numbers compare as np.isclose does:
|a - b| <= atol + rtol * |b| (defaults rtol 1e-5, atol 1e-8).

Examples:
  npy diff before.npy after.npy && echo same
  npy diff --rtol 1e-6 run1/out.npy run2/out.npy
  npy diff new.npy baseline.npz:out
  npy diff --json a.npy b.npy | jq .differing"
)]
pub struct Args {
    /// The first .npy file (or ARCHIVE.npz:NAME).
    pub a: PathBuf,
    /// The second .npy file or archive member (the reference for relative
    /// differences).
    pub b: PathBuf,
    /// Relative tolerance (np.isclose's rtol; default 1e-5 once --atol is given).
    #[arg(long, value_name = "R", value_parser = tolerance, allow_negative_numbers = true)]
    pub rtol: Option<f64>,
    /// Absolute tolerance (np.isclose's atol; default 1e-8 once --rtol is given).
    #[arg(long, value_name = "A", value_parser = tolerance, allow_negative_numbers = true)]
    pub atol: Option<f64>,
    /// Count NaN as equal to NaN (and NaT to NaT).
    #[arg(long)]
    pub equal_nan: bool,
    /// Print one JSON object (also when the arrays are equal).
    #[arg(long)]
    pub json: bool,
    /// How many differing elements to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub first: usize,
}

/// A tolerance: a non-negative number (a usage error otherwise).
fn tolerance(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x >= 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("{s:?} is not a non-negative number")),
    }
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    match diff(&args, g) {
        Ok((equal, text)) => {
            // Printing fails only for a stdout closed before npy started
            // (or one that cannot be written): exit 1 with the reason, as
            // every command; a reader that went away is not an error.
            if !text.is_empty() {
                crate::console::print(&text)?;
            }
            Ok(if equal {
                Outcome::Done
            } else {
                Outcome::Problems
            })
        }
        Err(e) => {
            crate::report(&e);
            Ok(Outcome::Trouble)
        }
    }
}

/// Compares; whether the arrays are equal, and what to print.
fn diff(args: &Args, g: super::Global) -> Result<(bool, String)> {
    let tol = match (args.rtol, args.atol) {
        (None, None) => None,
        (r, a) => Some((r.unwrap_or(1e-5), a.unwrap_or(1e-8))),
    };
    let opt = Options {
        tol,
        equal_nan: args.equal_nan,
        listed: args.first,
    };
    let (na, nb) = (args.a.display().to_string(), args.b.display().to_string());
    let (va, vb) = (open_view(&args.a)?, open_view(&args.b)?);
    let mut bar = Progress::bytes(va.elements * va.itemsize(), g.quiet, "diff");
    let verdict = compare(&va, &vb, &opt, &mut |d| bar.set(d))
        .map_err(|e| anyhow::Error::new(e).context(format!("{na}, {nb}: cannot read")))?;
    bar.finish();
    let equal = matches!(verdict, Verdict::Equal { .. });
    let text = if args.json {
        format!("{}\n", serde_json::to_string(&to_json(&verdict))?)
    } else {
        human(&na, &nb, &verdict)
    };
    Ok((equal, text))
}

fn largest_json(l: &Option<Largest>) -> Value {
    match l {
        Some(l) => json!({"value": json_val(&l.value), "index": l.index}),
        None => Value::Null,
    }
}

fn to_json(v: &Verdict) -> Value {
    let mut m = Map::new();
    m.insert("equal".into(), json!(matches!(v, Verdict::Equal { .. })));
    match v {
        Verdict::Equal { elements } => {
            m.insert("elements".into(), json!(elements));
            m.insert("differing".into(), json!(0));
        }
        Verdict::Dtype { a, b } => {
            m.insert("reason".into(), json!("dtype"));
            m.insert("dtype".into(), json!([a, b]));
        }
        Verdict::Shape { a, b } => {
            m.insert("reason".into(), json!("shape"));
            m.insert("shape".into(), json!([a, b]));
        }
        Verdict::Values(r) => {
            m.insert("reason".into(), json!("values"));
            m.insert("elements".into(), json!(r.elements));
            m.insert("differing".into(), json!(r.differing));
            m.insert("max_abs".into(), largest_json(&r.max_abs));
            m.insert("max_rel".into(), largest_json(&r.max_rel));
            let first: Vec<Value> = r
                .first
                .iter()
                .map(|d| json!({"index": d.index, "a": d.a, "b": d.b}))
                .collect();
            m.insert("first".into(), Value::Array(first));
        }
    }
    Value::Object(m)
}

fn human(na: &str, nb: &str, v: &Verdict) -> String {
    match v {
        Verdict::Equal { .. } => String::new(),
        Verdict::Dtype { a, b } => format!("{na} and {nb} differ in dtype: {a} vs {b}\n"),
        Verdict::Shape { a, b } => format!(
            "{na} and {nb} differ in shape: {} vs {}\n",
            shape_repr(a),
            shape_repr(b)
        ),
        Verdict::Values(r) => {
            let mut t = format!(
                "{na} and {nb} differ: {} of {} elements\n",
                r.differing, r.elements
            );
            let big = |what: &str, l: &Option<Largest>| match l {
                Some(l) => format!(
                    "largest {what} difference {} at {}\n",
                    l.value.display(),
                    index_repr(&l.index)
                ),
                None => String::new(),
            };
            t.push_str(&big("absolute", &r.max_abs));
            t.push_str(&big("relative", &r.max_rel));
            let mut rows = vec![["index".to_string(), na.to_string(), nb.to_string()]];
            rows.extend(
                r.first
                    .iter()
                    .map(|d| [index_repr(&d.index), d.a.clone(), d.b.clone()]),
            );
            let w: Vec<usize> = (0..3)
                .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
                .collect();
            for row in rows.iter().filter(|_| !r.first.is_empty()) {
                let line = format!(
                    "{:<w0$}  {:<w1$}  {}",
                    row[0],
                    row[1],
                    row[2],
                    w0 = w[0],
                    w1 = w[1]
                );
                t.push_str(line.trim_end());
                t.push('\n');
            }
            let more = r.differing - r.first.len() as u64;
            if more > 0 {
                t.push_str(&format!("... and {more} more\n"));
            }
            t
        }
    }
}
