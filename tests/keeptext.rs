//! Appending onto a file another writer made keeps its header's text: only
//! the row count changes (written in decimal), the spaces before the final
//! newline taking up the change in length; when they cannot, the header
//! grows and becomes np.save's. numpy loads every result as the old array
//! and the new rows concatenated.

use crate::common::*;

/// The dict text of a header without the padding spaces and final newline,
/// and whether it ends with that newline.
fn text(header: &[u8], prefix: usize) -> (&[u8], bool) {
    let body = &header[prefix..];
    let nl = body.last() == Some(&b'\n');
    let body = &body[..body.len() - usize::from(nl)];
    let spaces = body.iter().rev().take_while(|&&c| c == b' ').count();
    (&body[..body.len() - spaces], nl)
}

/// The value of a shape item as written (`3`, `0x3`, `0b11`, `1_2`, `3L`,
/// `3 L`), read the way Python does.
fn item_value(token: &[u8]) -> Option<u64> {
    let t = std::str::from_utf8(token).ok()?.trim();
    let t = t.strip_suffix('L').unwrap_or(t).trim().replace('_', "");
    let (radix, digits) = match t.get(..2) {
        Some("0x" | "0X") => (16, &t[2..]),
        Some("0o" | "0O") => (8, &t[2..]),
        Some("0b" | "0B") => (2, &t[2..]),
        _ => (10, &t[..]),
    };
    u64::from_str_radix(digits, radix).ok()
}

/// Asserts `new` is `old` with the item written for `old_n` replaced by
/// `new_n` in decimal, and nothing else changed but padding spaces.
fn assert_only_count_changed(
    name: &str,
    old: &[u8],
    new: &[u8],
    prefix: usize,
    old_n: u64,
    new_n: u64,
) {
    assert_eq!(old.len(), new.len(), "{name}: the header length changed");
    assert_eq!(old[..prefix], new[..prefix], "{name}: the preamble changed");
    let (t0, nl0) = text(old, prefix);
    let (t1, nl1) = text(new, prefix);
    assert_eq!(nl0, nl1, "{name}: the final newline changed");
    let num = new_n.to_string();
    let found = (0..t1.len()).any(|i| {
        let rest = &t1[i..];
        if !rest.starts_with(num.as_bytes()) || t0.get(..i) != Some(&t1[..i]) {
            return false;
        }
        let suffix = &rest[num.len()..];
        t0.len() > i + suffix.len()
            && t0.ends_with(suffix)
            && item_value(&t0[i..t0.len() - suffix.len()]) == Some(old_n)
    });
    assert!(
        found,
        "{name}: more than the count changed:\n{:?}\n{:?}",
        String::from_utf8_lossy(t0),
        String::from_utf8_lossy(t1)
    );
}

#[test]
fn append_onto_other_writers_files_keeps_their_header_text() {
    let Some(py) = python() else { return };
    let fixtures = repo().join("tests/fixtures/writers");
    let d = tempdir();
    let dir = d.path();
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".npy") && !n.starts_with("bad_"))
        .collect();
    names.sort();
    let (mut kept, mut grew) = (0, 0);
    for name in &names {
        let src = fixtures.join(name);
        let info = np_load(py, &src);
        let shape = info["shape"].as_array().map_or(0, Vec::len);
        if info["ok"] != true || shape == 0 {
            continue;
        }
        let axis = if info["fortran_order"] == true {
            shape - 1
        } else {
            0
        };
        let old_n = info["shape"][axis].as_u64().unwrap();
        let old_len = info["header_len"].as_u64().unwrap() as usize;
        let prefix = if info["version"] == "1.0" { 10 } else { 12 };
        let old = std::fs::read(&src).unwrap();

        // Rows to add: the array itself, so their dtype is the target's.
        let target = dir.join(format!("t_{name}"));
        let rows = dir.join(format!("r_{name}"));
        std::fs::copy(&src, &target).unwrap();
        std::fs::copy(&src, &rows).unwrap();
        run(
            dir,
            &["append", target.to_str().unwrap(), rows.to_str().unwrap()],
        )
        .ok();

        // numpy reads the old array and the rows, concatenated.
        let want = dir.join(format!("w_{name}"));
        let args = [
            "concat",
            want.to_str().unwrap(),
            &axis.to_string(),
            src.to_str().unwrap(),
            src.to_str().unwrap(),
        ];
        oracle(py, &args);
        assert_np_equal(py, &target, &want);

        let new = std::fs::read(&target).unwrap();
        let new_len = np_load(py, &target)["header_len"].as_u64().unwrap() as usize;
        if new_len == old_len {
            kept += 1;
            assert_only_count_changed(
                name,
                &old[..old_len],
                &new[..new_len],
                prefix,
                old_n,
                2 * old_n,
            );
        } else {
            // The header had to grow: the count did not fit the spaces, and
            // the new header is np.save's.
            grew += 1;
            let (t0, _) = text(&old[..old_len], prefix);
            let spare = old_len - prefix - t0.len();
            assert!(spare < 20, "{name}: grew with {spare} spare bytes");
            let want_len = np_load(py, &want)["header_len"].as_u64().unwrap() as usize;
            let want = std::fs::read(&want).unwrap();
            assert!(
                new[..new_len] == want[..want_len],
                "{name}: the grown header is not np.save's"
            );
        }
    }
    eprintln!("{kept} headers kept, {grew} grew");
    assert!(kept >= 40, "only {kept} headers kept ({grew} grew)");
}
