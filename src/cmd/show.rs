//! `npy show FILE [INDEX]`: print an array (or part of it) exactly as
//! `print(np.load(FILE)[INDEX])` does, or as CSV or JSON, reading only the
//! elements it prints with positioned reads (the head of a terabyte file
//! costs what the head of a kilobyte file costs).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::npy::export::{csv_cells, csv_header, json_array, json_value};
use crate::npy::index::{parse, Item, Selection};
use crate::npy::npz;
use crate::npy::print::{array_str, scalar_str, shown_positions, zero_d_str, PrintOptions};
use crate::npy::scan::{scan_settled, FileStatus, Scan};
use crate::npy::values::{read_elements, ElementType};
use crate::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "INDEX is numpy basic indexing, brackets optional: integers, slices
start:stop:step, `...` and None, separated by commas. Output is byte for byte what
numpy prints with its default print options: arrays over 1000 elements are
summarized with `...`, lines wrap at 75 columns.

A truncated file is refused (run `npy repair` first); a file holding several
arrays shows the first, as np.load does. FILE may be a member of a .npz
archive, ARCHIVE.npz:NAME (a stored member is read in place, a deflated one
inflated to a temporary file).

--csv writes 0-d, 1-D and 2-D selections, one row per line, with values that
read back exactly; a structured array gets one column per field. --json writes
the selection as nested arrays (a.tolist()); NaN and infinities become null,
complex numbers [real, imag], records arrays of their fields.

Examples:
  npy show data.npy
  npy show data.npy -3:
  npy show run.npz:loss
  npy show data.npy '10:20, ::2'
  npy show data.npy '..., -1' --full
  npy show --head 5 --csv table.npy > head.csv
  npy show --json data.npy 0 | jq '.[:3]'"
)]
pub struct Args {
    /// The .npy file, or ARCHIVE.npz:NAME for a member of an archive.
    pub file: PathBuf,
    /// numpy basic index, e.g. `5`, `-3:`, `10:20, ::2`, `..., -1`, `::-4`.
    #[arg(allow_hyphen_values = true, value_name = "INDEX")]
    pub index: Option<String>,
    /// Only the first N rows (positions along axis 0), after INDEX.
    #[arg(long, value_name = "N", conflicts_with = "tail")]
    pub head: Option<u64>,
    /// Only the last N rows (positions along axis 0), after INDEX.
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
    /// Write CSV instead of numpy's text.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// With --csv, a first line naming the fields of a structured array.
    #[arg(long, requires = "csv")]
    pub header: bool,
    /// Write JSON (nested arrays, as a.tolist()) instead of numpy's text.
    #[arg(long)]
    pub json: bool,
    /// Never summarize with `...` (np.set_printoptions(threshold=sys.maxsize)).
    #[arg(long, conflicts_with = "threshold")]
    pub full: bool,
    /// Digits after the decimal point at most, for floats (numpy default 8).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub precision: usize,
    /// Summarize arrays of more than N elements (numpy default 1000).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub threshold: u64,
    /// Items kept at each end of a summarized axis (numpy default 3).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub edgeitems: u64,
    /// Characters per line before wrapping (numpy default 75).
    #[arg(long, value_name = "N", default_value_t = 75)]
    pub linewidth: usize,
}

pub fn run(args: Args, _g: super::Global) -> Result<Outcome> {
    // Everything show does goes to stdout: a closed one is said up front.
    crate::console::stdout_usable()?;
    let name = args.file.display().to_string();
    let (file, base, scan) = open_scan(&args.file, &name)?;
    if scan.status == FileStatus::Truncated {
        let why = crate::npy::scan::advice(&name, &scan, crate::npy::scan::Use::Report)
            .unwrap_or_default();
        bail!("{name}: {why}");
    }
    let h = &scan.header;
    let ty = ElementType::new(&h.dtype).with_context(|| name.clone())?;
    let (ty, item_shape) = match ty {
        ElementType::Sub { base, shape } => (*base, shape),
        t => (t, vec![]),
    };
    let whole = Selection::whole_with_item_shape(&h.shape, h.fortran_order, &item_shape);
    let items = parse(args.index.as_deref().unwrap_or("")).with_context(|| name.clone())?;
    let mut sel = whole.index(&items).with_context(|| name.clone())?;
    if args.head.is_some() || args.tail.is_some() {
        if sel.shape.is_empty() {
            bail!("{name}: --head and --tail take rows, and this selection is 0-d");
        }
        sel = match (args.head, args.tail) {
            (Some(n), _) => sel.head(n),
            (_, Some(n)) => sel.tail(n),
            _ => sel,
        };
    }
    let opts = PrintOptions {
        precision: args.precision,
        threshold: if args.full { u64::MAX } else { args.threshold },
        edgeitems: args.edgeitems,
        linewidth: args.linewidth,
    };
    let reader = Reader {
        file: &file,
        start: base + h.header_len,
        ty: &ty,
        name: &name,
    };
    // Through the console's stdout: a reader that goes away ends the output
    // (a BrokenPipe error, which is not reported).
    let mut out = BufWriter::new(crate::console::Stdout);
    if args.csv {
        write_csv(&reader, &sel, args.header, &mut out)?;
    } else if args.json {
        write_json(&reader, &sel, &mut out)?;
    } else if sel.shape.is_empty() {
        // `a[1, 2]` is a scalar; `a[..., 2]` and a 0-d file are 0-d arrays.
        let v = reader.read(&[sel.base])?;
        let scalar =
            items.iter().any(|i| matches!(i, Item::At(_))) && !items.contains(&Item::Ellipsis);
        let text = if scalar {
            scalar_str(&ty, &v[0], &opts)
        } else {
            zero_d_str(&ty, &v[0], &opts)
        };
        writeln!(out, "{text}")?;
    } else {
        let kept = shown_positions(&sel.shape, &opts);
        let values = reader.read(&sel.offsets_of(&kept))?;
        writeln!(out, "{}", array_str(&ty, &sel.shape, &values, &opts))?;
    }
    out.flush()?;
    Ok(Outcome::Done)
}

/// The file holding the array `path` names, where its `.npy` bytes start
/// in that file, and its scan: a `.npy` file (scanned again under the shared
/// lock if it looks cut short or overlong, as a writer may be mid-append),
/// or a member of a `.npz` archive (`A.npz:NAME`).
fn open_scan(path: &Path, name: &str) -> Result<(File, u64, Scan)> {
    if let Some(l) = npz::locate(path)? {
        let scan = npz::scan_range(&l.file, l.offset, l.len).with_context(|| name.to_string())?;
        return Ok((l.file, l.offset, scan));
    }
    let file = File::open(path).with_context(|| format!("{name}: cannot open"))?;
    if !file.metadata()?.is_file() {
        bail!("{name}: not a regular file (show reads at offsets)");
    }
    let scan = scan_settled(&file).with_context(|| name.to_string())?;
    Ok((file, 0, scan))
}

struct Reader<'a> {
    file: &'a File,
    start: u64,
    ty: &'a ElementType,
    name: &'a str,
}

impl Reader<'_> {
    fn read(&self, offsets: &[u64]) -> Result<Vec<crate::npy::values::Value>> {
        read_elements(self.file, self.start, self.ty, offsets)
            .with_context(|| format!("{}: cannot read the data", self.name))
    }
}

/// Rows of at most this many elements are read at a time.
const BATCH: u64 = 1 << 16;

fn write_csv(r: &Reader, sel: &Selection, header: bool, out: &mut impl Write) -> Result<()> {
    let ndim = sel.shape.len();
    let record = matches!(r.ty, ElementType::Record { .. });
    if ndim > 2 || (record && ndim > 1) {
        bail!(
            "{}: --csv writes 0-d, 1-D or 2-D selections (1-D for structured arrays); this one is {ndim}-D: pick a slice with INDEX",
            r.name
        );
    }
    if header {
        match csv_header(r.ty) {
            Some(names) => writeln!(out, "{}", names.join(","))?,
            None => bail!(
                "{}: --header names the fields of a structured array, and this one has none",
                r.name
            ),
        }
    }
    let line = |vals: &[crate::npy::values::Value], out: &mut dyn Write| -> Result<()> {
        let mut cells = Vec::new();
        for v in vals {
            csv_cells(r.ty, v, &mut cells);
        }
        writeln!(out, "{}", cells.join(","))?;
        Ok(())
    };
    match ndim {
        0 => line(&r.read(&[sel.base])?, out)?,
        1 => {
            for chunk in chunks(sel.shape[0]) {
                for v in r.read(&sel.offsets_of(&[chunk]))? {
                    line(std::slice::from_ref(&v), out)?;
                }
            }
        }
        _ => {
            for i in 0..sel.shape[0] {
                line(&r.read(&sel.row(i).offsets())?, out)?;
            }
        }
    }
    Ok(())
}

fn chunks(n: u64) -> impl Iterator<Item = Vec<u64>> {
    (0..n.div_ceil(BATCH)).map(move |c| (c * BATCH..((c + 1) * BATCH).min(n)).collect())
}

fn write_json(r: &Reader, sel: &Selection, out: &mut impl Write) -> Result<()> {
    if sel.shape.is_empty() {
        let v = r.read(&[sel.base])?;
        writeln!(out, "{}", json_value(r.ty, &v[0]))?;
        return Ok(());
    }
    // Streamed along axis 0: memory holds one row (or one batch of a 1-D).
    write!(out, "[")?;
    let mut first = true;
    let mut sep = |out: &mut dyn Write| -> std::io::Result<()> {
        if !std::mem::take(&mut first) {
            write!(out, ",")?;
        }
        Ok(())
    };
    if sel.shape.len() == 1 {
        for chunk in chunks(sel.shape[0]) {
            for v in r.read(&sel.offsets_of(&[chunk]))? {
                sep(out)?;
                write!(out, "{}", json_value(r.ty, &v))?;
            }
        }
    } else {
        for i in 0..sel.shape[0] {
            let row = sel.row(i);
            let vals = r.read(&row.offsets())?;
            sep(out)?;
            write!(out, "{}", json_array(r.ty, &row.shape, &vals))?;
        }
    }
    writeln!(out, "]")?;
    Ok(())
}
