//! Reordering an array's bytes between Fortran and C memory order.

/// The C-order bytes of `shape` (items of `isz` bytes) given its Fortran-order
/// bytes: a transpose.
pub fn transpose(src: &[u8], shape: &[u64], isz: u64) -> Vec<u8> {
    let isz = isz as usize;
    let mut dst = Vec::with_capacity(src.len());
    if src.is_empty() || isz == 0 {
        return src.to_vec();
    }
    let nd = shape.len();
    let mut fstride = vec![isz; nd];
    for k in 1..nd {
        fstride[k] = fstride[k - 1] * shape[k - 1] as usize;
    }
    let mut idx = vec![0usize; nd];
    let last = nd - 1;
    let (n_last, s_last) = (shape[last] as usize, fstride[last]);
    loop {
        let base: usize = (0..last).map(|k| idx[k] * fstride[k]).sum();
        for j in 0..n_last {
            let o = base + j * s_last;
            dst.extend_from_slice(&src[o..o + isz]);
        }
        // Next index over all axes but the last, last-but-one fastest.
        let mut k = last;
        loop {
            if k == 0 {
                return dst;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < shape[k] as usize {
                break;
            }
            idx[k] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes() {
        // np.arange(6).reshape(2, 3) in Fortran order: 0 3 1 4 2 5.
        let f: Vec<u8> = [0u8, 3, 1, 4, 2, 5].to_vec();
        assert_eq!(transpose(&f, &[2, 3], 1), vec![0, 1, 2, 3, 4, 5]);
        // And back: C bytes of (2, 3) are the Fortran bytes of (3, 2).
        assert_eq!(transpose(&[0, 1, 2, 3, 4, 5], &[3, 2], 1), f);
        let f3: Vec<u8> = (0..24u8).collect();
        let c3 = transpose(&f3, &[2, 3, 4], 1);
        // Element (i, j, k) is at F offset i + 2j + 6k.
        let (i, j, k) = (1, 2, 3);
        assert_eq!(c3[i * 12 + j * 4 + k], (i + 2 * j + 6 * k) as u8);
        assert_eq!(transpose(&[1, 2, 3, 4], &[1, 2], 2), vec![1, 2, 3, 4]);
    }
}
