//! `npy concat --part K/N`: the wording around `npy::part`, which does the
//! work (the cut, the staging directory, the publication).

use std::os::unix::fs::MetadataExt;

use anyhow::{bail, Result};

use super::{Args, Inputs};
use crate::npy::join::Geometry;
use crate::npy::part::{self, Input, Job, PartSpec, Status};
use crate::progress::Progress;
use crate::Outcome;

/// A usage error, reported as clap reports its own (exit 2).
pub fn usage(msg: &str) -> ! {
    use clap::CommandFactory;
    crate::cli::Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, msg)
        .exit()
}

pub fn run(
    args: &Args,
    spec: PartSpec,
    geo: &Geometry,
    header: &[u8],
    inputs: &Inputs,
    g: super::super::Global,
) -> Result<Outcome> {
    // A published OUTPUT would be joined again by a rerun: never an input.
    if let Ok(m) = std::fs::metadata(&args.output) {
        if inputs.info.iter().any(|i| i.id == (m.dev(), m.ino())) {
            bail!(
                "{}: is also an input; with --part, OUTPUT must be a new file (a rerun after \
                 publication would join it again)",
                args.output.display()
            );
        }
    }
    let list: Vec<Input> = inputs
        .paths
        .iter()
        .zip(&inputs.info)
        .map(|(path, i)| Input {
            path: path.clone(),
            size: i.len,
            data_offset: i.data_offset,
            axis_len: i.axis_len,
            fortran_order: i.fortran_order,
        })
        .collect();
    let job = Job {
        output: &args.output,
        spec,
        header,
        geo,
        inputs: &list,
        sort: args.sort.map(|_| "natural"),
        force: args.force,
        sync: !args.no_sync,
    };
    let total = header.len() as u64 + geo.data_bytes;
    let (lo, hi) = part::share(header.len() as u64, total, spec);
    let mut progress = Progress::bytes(hi - lo, g.quiet, &format!("part {}/{}", spec.k, spec.n));
    let report = part::run(&job, &mut |n| progress.set(n))?;
    progress.finish();
    if !g.quiet {
        let out = args.output.display();
        let (k, n) = (spec.k, spec.n);
        let what = if report.wrote {
            "written"
        } else if report.range.0 == report.range.1 {
            "done (no bytes fall to it)"
        } else {
            "already done"
        };
        // Through the one stderr path: a closed stderr is no panic.
        crate::console::eprint(&match report.status {
            Status::Published => {
                format!("{out}: part {k}/{n} {what}; all {n} parts done, {out} published\n")
            }
            Status::Waiting { missing } => format!(
                "{out}: part {k}/{n} {what}; {} of {n} done, waiting for {}\n",
                n as usize - missing.len(),
                spans(&missing)
            ),
            Status::AlreadyPublished => format!(
                "{out}: already published (size and header as planned); part {k}/{n} has nothing to do\n"
            ),
        });
    }
    Ok(Outcome::Done)
}

/// `1-3, 5, 7-9`: sorted part numbers as runs.
fn spans(parts: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let mut j = i;
        while j + 1 < parts.len() && parts[j + 1] == parts[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            parts[i].to_string()
        } else {
            format!("{}-{}", parts[i], parts[j])
        });
        i = j + 1;
    }
    let plural = if parts.len() == 1 { "part" } else { "parts" };
    format!("{plural} {}", out.join(", "))
}

#[cfg(test)]
mod tests {
    use super::spans;

    #[test]
    fn spans_of_parts() {
        assert_eq!(spans(&[3]), "part 3");
        assert_eq!(spans(&[1, 2, 3, 5, 7, 8]), "parts 1-3, 5, 7-8");
    }
}
