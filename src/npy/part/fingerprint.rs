//! The plan's fingerprint, as `plan.json` records it, and the first
//! difference between two of them, in words.

use serde_json::{json, Value};

use super::{Job, PROTOCOL};

/// The plan's fingerprint, as `plan.json` holds it.
pub(super) fn fingerprint(job: &Job) -> Value {
    let out_name = job
        .output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let inputs: Vec<Value> = job
        .inputs
        .iter()
        .map(|i| {
            json!([
                i.path.to_string_lossy(),
                i.size,
                i.data_offset,
                i.axis_len,
                i.fortran_order
            ])
        })
        .collect();
    json!({
        "npy_part": PROTOCOL,
        "parts": job.spec.n,
        "output": out_name,
        "axis": job.geo.axis,
        "sort": job.sort,
        "result": header_dict(job.header),
        "header_hex": hex(job.header),
        "size": total_size(job),
        "inputs": inputs,
    })
}

/// The dict of a header, for people reading `plan.json` or a message.
fn header_dict(header: &[u8]) -> String {
    let from = header.iter().position(|&b| b == b'{').unwrap_or(0);
    let to = header
        .iter()
        .rposition(|&b| b == b'}')
        .map_or(header.len(), |i| i + 1);
    String::from_utf8_lossy(&header[from..to.max(from)]).into_owned()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn total_size(job: &Job) -> u64 {
    job.header.len() as u64 + job.geo.data_bytes
}

/// The first difference between this part's plan and the round's, in words.
pub(super) fn difference(ours: &Value, theirs: &Value) -> Option<String> {
    if ours["npy_part"] != theirs["npy_part"] {
        return Some(format!(
            "the round was started by another version of npy (staging layout {}, this is {})",
            theirs["npy_part"], ours["npy_part"]
        ));
    }
    if ours["parts"] != theirs["parts"] {
        return Some(format!(
            "N differs: --part K/{} here, K/{} in the round",
            ours["parts"], theirs["parts"]
        ));
    }
    if ours["output"] != theirs["output"] {
        return Some(format!(
            "output name differs: {} here, {} in the round",
            ours["output"], theirs["output"]
        ));
    }
    if ours["axis"] != theirs["axis"] {
        return Some(format!(
            "the axis differs: --axis {} here, --axis {} in the round",
            ours["axis"], theirs["axis"]
        ));
    }
    if ours["sort"] != theirs["sort"] {
        let s = |v: &Value| match v.as_str() {
            Some(s) => format!("--sort {s}"),
            None => "no --sort".to_string(),
        };
        return Some(format!(
            "the sort differs: {} here, {} in the round",
            s(&ours["sort"]),
            s(&theirs["sort"])
        ));
    }
    let empty = Vec::new();
    let a = ours["inputs"].as_array().unwrap_or(&empty);
    let b = theirs["inputs"].as_array().unwrap_or(&empty);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x == y {
            continue;
        }
        let name = |v: &Value| v[0].as_str().unwrap_or("?").to_string();
        let n = i + 1;
        if x[0] != y[0] {
            return Some(format!(
                "input {n} is {} here, {} in the round",
                name(x),
                name(y)
            ));
        }
        if x[1] != y[1] {
            return Some(format!(
                "input {n} ({}) has {} bytes here, {} in the round",
                name(x),
                x[1],
                y[1]
            ));
        }
        return Some(format!(
            "input {n} ({}) has another header here than in the round (its shape or memory \
             order changed)",
            name(x)
        ));
    }
    if a.len() != b.len() {
        return Some(format!("{} inputs here, {} in the round", a.len(), b.len()));
    }
    if ours["header_hex"] != theirs["header_hex"] || ours["size"] != theirs["size"] {
        return Some(format!(
            "the result differs: {} here, {} in the round",
            ours["result"].as_str().unwrap_or("?"),
            theirs["result"].as_str().unwrap_or("?")
        ));
    }
    (ours != theirs).then(|| "plan.json differs from this part's plan".to_string())
}
