//! `npy stats [--json] [--axis 0] FILE [INDEX]`: count, NaN and ±Inf counts, min,
//! max, mean and standard deviation of an array's values, in one streaming
//! pass over the file (see `npy::stats`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::npy::elem::{fmt_float, Val};
use crate::npy::index::{parse, IndexError, Item, Selection};
use crate::npy::scan::FileStatus;
use crate::npy::stats::{compute, Axis, Report, Summary};
use crate::npy::view::{index_repr, unravel, OpenError, View};
use crate::npy::ErrorKind;
use crate::progress::Progress;
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "Min and max ignore NaN (as np.nanmin and np.nanmax, so they can be
±inf); mean and std (ddof 0) are over the finite values only. A value
that does not exist (no finite values, an empty array) is `-`, or null
in JSON; infinite min/max are the strings \"inf\" and \"-inf\" in JSON.
Works on bool, integer and float (f2, f4, f8, either byte order) arrays.
FILE may be a member of a .npz archive, ARCHIVE.npz:NAME.

Examples:
  npy stats data.npy
  npy stats data.npy -1000:
  npy stats --axis 0 features.npy
  npy stats run.npz:weights
  npy stats features.npy '..., 3'
  npy stats --json data.npy | jq .nan"
)]
pub struct Args {
    /// The .npy file, or ARCHIVE.npz:NAME for a member of an archive.
    pub file: PathBuf,
    /// Only `a[INDEX]`: numpy basic indexing such as `5`, `-3:`,
    /// `10:20, ::2`, `..., -1` (brackets optional).
    #[arg(allow_hyphen_values = true, value_parser = parse_index)]
    pub index: Option<Items>,
    /// Print one JSON object with the keys count, nan, inf, min, max, mean,
    /// std (with --axis 0 each holds an array shaped like the remaining
    /// dimensions).
    #[arg(long)]
    pub json: bool,
    /// Reduce along axis 0 only: one result per column (per position of
    /// the dimensions after the first). Only 0 is supported.
    #[arg(long, value_name = "AXIS", value_parser = clap::value_parser!(u8).range(0..=0))]
    pub axis: Option<u8>,
}

pub fn run(args: Args, g: super::Global) -> Result<Outcome> {
    // The result goes to stdout only: a closed one is said before the pass.
    crate::console::stdout_usable()?;
    let name = args.file.display().to_string();
    let view = open_view(&args.file)?;
    let axis = if args.axis.is_some() {
        Axis::Zero
    } else {
        Axis::All
    };
    let sel = match &args.index {
        Some(items) => Some(
            Selection::whole(&view.header.shape, view.header.fortran_order)
                .index(&items.items)
                .with_context(|| name.clone())?,
        ),
        None => None,
    };
    let elements = sel.as_ref().map_or(view.elements, Selection::len);
    let mut bar = Progress::bytes(elements * view.itemsize(), g.quiet, "stats");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let report = compute(&view, axis, sel.as_ref(), threads, &mut |done| {
        bar.set(done)
    })
    .with_context(|| name.clone())?;
    bar.finish();
    if args.json {
        crate::console::print(&format!("{}\n", serde_json::to_string(&to_json(&report))?))?;
    } else {
        let what = match &args.index {
            Some(i) => format!("{name}[{}]", i.text),
            None => name.clone(),
        };
        let shape = sel
            .as_ref()
            .map_or(view.header.shape.clone(), |s| s.shape.clone());
        crate::console::print(&human(&what, &view, &shape, &report))?;
    }
    Ok(Outcome::Done)
}

/// INDEX text, checked when the command line is read (a usage error).
fn parse_index(s: &str) -> Result<Items, IndexError> {
    Ok(Items {
        items: parse(s)?,
        text: s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    })
}

/// A parsed INDEX with its text as given (without brackets).
#[derive(Debug, Clone)]
pub struct Items {
    items: Vec<Item>,
    text: String,
}

/// Opens a file's array for reading its values, with the advice `inspect`
/// gives when it is not one whole array.
pub fn open_view(path: &Path) -> Result<View> {
    let name = path.display().to_string();
    // The core's errors name the file; a file that is not one whole array
    // gets `inspect`'s advice instead.
    View::open(path).map_err(|e| match e.kind() {
        ErrorKind::Open(OpenError::NotWhole(scan)) if scan.status == FileStatus::Object => {
            anyhow::anyhow!(
                "{name}: holds pickled Python objects ({}), whose values npy does not read",
                scan.header.descr.repr()
            )
        }
        ErrorKind::Open(OpenError::NotWhole(scan)) => {
            let why = crate::npy::scan::advice(&name, scan, crate::npy::scan::Use::Report)
                .unwrap_or_else(|| "not one whole array".into());
            anyhow::anyhow!("{name}: {why}")
        }
        _ => e.into(),
    })
}

/// A value for JSON: integers and bools exactly, finite floats as the
/// shortest number that reads back to them, infinities as "inf"/"-inf",
/// NaN as null.
pub fn json_val(v: &Val) -> Value {
    match *v {
        Val::Bool(b) => json!(b),
        Val::Int(i) => {
            if let Ok(x) = i64::try_from(i) {
                json!(x)
            } else if let Ok(x) = u64::try_from(i) {
                json!(x)
            } else {
                json!(i.to_string())
            }
        }
        Val::Float(f, bits) => json_float(f, bits),
        other => json!(other.display()),
    }
}

fn json_float(f: f64, bits: u8) -> Value {
    if f.is_nan() {
        Value::Null
    } else if f.is_infinite() {
        json!(fmt_float(f, 64))
    } else {
        serde_json::from_str(&fmt_float(f, bits)).unwrap_or(Value::Null)
    }
}

fn opt_val(v: &Option<Val>) -> Value {
    v.as_ref().map_or(Value::Null, json_val)
}

fn opt_f64(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |f| json_float(f, 64))
}

fn to_json(r: &Report) -> Value {
    type Get = fn(&Summary) -> Value;
    let keys: [(&str, Get); 7] = [
        ("count", |s| json!(s.count)),
        ("nan", |s| json!(s.nan)),
        ("inf", |s| json!(s.inf)),
        ("min", |s| opt_val(&s.min)),
        ("max", |s| opt_val(&s.max)),
        ("mean", |s| opt_f64(s.mean)),
        ("std", |s| opt_f64(s.std)),
    ];
    let mut m = Map::new();
    for (k, get) in keys {
        let flat: Vec<Value> = r.results.iter().map(get).collect();
        let v = if r.shape.is_empty() && flat.len() == 1 {
            flat.into_iter().next().expect("one result")
        } else {
            nest(&flat, &r.shape)
        };
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// Nested lists of `shape` from values in C order (as `ndarray.tolist()`).
fn nest(flat: &[Value], shape: &[u64]) -> Value {
    match shape {
        [] => flat.first().cloned().unwrap_or(Value::Null),
        [_] => Value::Array(flat.to_vec()),
        [n, rest @ ..] => {
            let step = rest.iter().product::<u64>() as usize;
            Value::Array(
                (0..*n as usize)
                    .map(|i| nest(&flat[i * step..(i + 1) * step], rest))
                    .collect(),
            )
        }
    }
}

fn cells(s: &Summary) -> [String; 7] {
    let v = |x: &Option<Val>| x.as_ref().map_or("-".into(), Val::display);
    let f = |x: Option<f64>| x.map_or("-".into(), |f| fmt_float(f, 64));
    [
        s.count.to_string(),
        s.nan.to_string(),
        s.inf.to_string(),
        v(&s.min),
        v(&s.max),
        f(s.mean),
        f(s.std),
    ]
}

const NAMES: [&str; 7] = ["count", "nan", "inf", "min", "max", "mean", "std"];

fn human(name: &str, view: &View, shape: &[u64], r: &Report) -> String {
    let h = &view.header;
    let mut t = format!(
        "{name}: {}, shape {}{}\n",
        h.dtype.describe(),
        crate::npy::header::shape_repr(shape),
        if h.fortran_order {
            ", Fortran order"
        } else {
            ""
        }
    );
    if r.shape.is_empty() {
        for (k, v) in NAMES.iter().zip(cells(&r.results[0])) {
            t.push_str(&format!("  {k:<6} {v}\n"));
        }
        return t;
    }
    // One row per position after axis 0, columns aligned.
    let mut rows: Vec<Vec<String>> = vec![std::iter::once("index")
        .chain(NAMES)
        .map(String::from)
        .collect()];
    for (j, s) in r.results.iter().enumerate() {
        let idx = index_repr(&unravel(j as u64, &r.shape, false));
        rows.push(std::iter::once(idx).chain(cells(s)).collect());
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        t.push_str(&format!("  {}\n", line.join("  ").trim_end()));
    }
    t
}
