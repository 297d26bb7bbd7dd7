//! Reordering an array's bytes between Fortran and C memory order, out of
//! core: [`Transposed`] produces any byte range of the C-order bytes of an
//! array from its Fortran-order bytes in a memory map, so the result is
//! written front to back through the executor's bounded buffers whatever
//! the array's size. (C-order bytes of a shape are the Fortran-order bytes
//! of its reverse, so the same code serves the other direction.)
//!
//! A range is produced in tiles: for whole sub-arrays along the first axis
//! (contiguous in the source) against the last axis (contiguous in the
//! result), a tile of a few dozen of each is copied at a time, so both sides
//! are read and written a cache line at a time; a range that starts or ends
//! inside a sub-array recurses into it. The pages of the map touched are
//! released as the tiles go (see [`Pager`]), so resident memory stays
//! bounded however large the array.

use super::{Guarded, Shrank};

/// Bytes of the source map that may be resident before they are released.
const RESIDENT: usize = 16 << 20;
/// What one touch of a map may make resident beyond the bytes read: the
/// kernel maps a whole large folio of the page cache at once (up to 2 MiB).
const FOLIO: usize = 2 << 20;
/// Tile extent along the result's last axis.
const KT: usize = 32;

/// Releases the pages of a map as they are read, so that at most about
/// [`RESIDENT`] bytes of it count towards the process's RSS.
struct Pager<'m> {
    map: Option<&'m Guarded>,
    /// Estimate of the bytes made resident since the last release, and the
    /// span they lie in.
    touched: usize,
    lo: usize,
    hi: usize,
}

impl Pager<'_> {
    /// Notes that about `bytes` of `[lo, hi)` are about to be read (never
    /// more than the span itself plus a folio at each end).
    fn touch(&mut self, bytes: usize, lo: usize, hi: usize) {
        let cap = |lo: usize, hi: usize| hi.saturating_sub(lo) + 2 * FOLIO;
        let (nlo, nhi) = (self.lo.min(lo), self.hi.max(hi));
        let est = (self.touched + bytes).min(cap(nlo, nhi));
        if est > RESIDENT && self.touched > 0 {
            self.flush();
            self.touched = bytes.min(cap(lo, hi));
            self.lo = lo;
            self.hi = hi;
        } else {
            self.touched = est;
            self.lo = nlo;
            self.hi = nhi;
        }
    }

    fn flush(&mut self) {
        if let Some(m) = self.map {
            if self.lo < self.hi {
                m.release(self.lo, self.hi);
            }
        }
        self.touched = 0;
        self.lo = usize::MAX;
        self.hi = 0;
    }
}

/// The C-order bytes of an array, read from its Fortran-order bytes.
pub struct Transposed<'m> {
    src: &'m [u8],
    map: Option<&'m Guarded>,
    /// Shape with the axes of length 1 left out (they move no byte), and
    /// each axis' stride in the source, in bytes.
    shape: Vec<usize>,
    strides: Vec<usize>,
    isz: usize,
}

impl<'m> Transposed<'m> {
    /// `src` holds the Fortran-order bytes of `shape`, items of `isz` bytes.
    pub fn new(src: &'m [u8], shape: &[u64], isz: usize) -> Transposed<'m> {
        let mut s = isz;
        let mut dims = Vec::new();
        let mut strides = Vec::new();
        for &d in shape {
            let d = d as usize;
            if d != 1 {
                dims.push(d);
                strides.push(s);
            }
            s = s.saturating_mul(d);
        }
        Transposed {
            src,
            map: None,
            shape: dims,
            strides,
            isz,
        }
    }

    /// The same over a guarded map, whose pages are released as read and
    /// whose shrinking is reported by [`Transposed::read`].
    pub fn over(map: &'m Guarded, shape: &[u64], isz: usize) -> Transposed<'m> {
        let mut t = Transposed::new(map.bytes(), shape, isz);
        t.map = Some(map);
        t
    }

    /// Fills `out` with the C-order bytes from byte `off`; `off` and
    /// `out.len()` are multiples of the item size, within the array.
    pub fn read(&self, off: u64, out: &mut [u8]) -> Result<(), Shrank> {
        let isz = self.isz;
        debug_assert!((off as usize).is_multiple_of(isz) && out.len().is_multiple_of(isz));
        let mut pager = Pager {
            map: self.map,
            touched: 0,
            lo: usize::MAX,
            hi: 0,
        };
        if self.shape.is_empty() {
            out.copy_from_slice(&self.src[off as usize..off as usize + out.len()]);
        } else {
            let e0 = off as usize / isz;
            let n = out.len() / isz;
            match isz {
                1 => self.range::<1>(&mut pager, 0, 0, e0, n, out),
                2 => self.range::<2>(&mut pager, 0, 0, e0, n, out),
                4 => self.range::<4>(&mut pager, 0, 0, e0, n, out),
                8 => self.range::<8>(&mut pager, 0, 0, e0, n, out),
                16 => self.range::<16>(&mut pager, 0, 0, e0, n, out),
                _ => self.range::<0>(&mut pager, 0, 0, e0, n, out),
            }
        }
        pager.flush();
        match self.map {
            Some(m) => m.check(),
            None => Ok(()),
        }
    }

    /// Elements `e0..e0 + n` (C order) of the sub-array of axes `d..` whose
    /// first item is at source byte `base`. `N` is the item size, or 0 for
    /// one not specialised.
    fn range<const N: usize>(
        &self,
        pager: &mut Pager<'_>,
        d: usize,
        base: usize,
        mut e0: usize,
        mut n: usize,
        out: &mut [u8],
    ) {
        let isz = self.isz;
        let nd = self.shape.len();
        if d + 1 == nd {
            let st = self.strides[d];
            let lo = base + e0 * st;
            pager.touch(
                n * st.min(4096).max(isz),
                lo,
                lo + (n.max(1) - 1) * st + isz,
            );
            for (j, o) in out.chunks_exact_mut(isz).enumerate() {
                let s = lo + j * st;
                copy_item::<N>(o, &self.src[s..s + isz]);
            }
            return;
        }
        let slice: usize = self.shape[d + 1..].iter().product();
        let st = self.strides[d];
        let mut at = 0;
        // A partial sub-array at the start.
        if !e0.is_multiple_of(slice) {
            let i = e0 / slice;
            let k = n.min(slice - e0 % slice);
            self.range::<N>(
                pager,
                d + 1,
                base + i * st,
                e0 % slice,
                k,
                &mut out[..k * isz],
            );
            e0 += k;
            n -= k;
            at = k * isz;
        }
        let whole = n / slice;
        if whole > 0 {
            let len = whole * slice * isz;
            self.tiles::<N>(pager, d, base, e0 / slice, whole, &mut out[at..at + len]);
            e0 += whole * slice;
            n -= whole * slice;
            at += len;
        }
        // A partial sub-array at the end.
        if n > 0 {
            let i = e0 / slice;
            self.range::<N>(pager, d + 1, base + i * st, 0, n, &mut out[at..]);
        }
    }

    /// Whole sub-arrays `i0..i0 + cnt` along axis `d`: for each index of the
    /// axes between `d` and the last, a tile of (axis `d`) x (last axis).
    fn tiles<const N: usize>(
        &self,
        pager: &mut Pager<'_>,
        d: usize,
        base: usize,
        i0: usize,
        cnt: usize,
        out: &mut [u8],
    ) {
        let isz = self.isz;
        let last = self.shape.len() - 1;
        let (sd, sl, nl) = (self.strides[d], self.strides[last], self.shape[last]);
        let mid = &self.shape[d + 1..last];
        let mid_st = &self.strides[d + 1..last];
        let m_count: usize = mid.iter().product();
        let row = m_count * nl; // elements per sub-array
        let it = (256 / isz).clamp(8, 64);
        // What one index of the last axis makes resident for one index of
        // the middle axes: a run along axis `d`, and the folio it maps. The
        // tile is as wide as keeps a tile's worth within half the budget.
        let run = ((cnt - 1) * sd + isz).min(cnt * 4096) + FOLIO;
        let kt_max = (RESIDENT / 2 / run).clamp(1, KT);
        let mut idx = vec![0usize; mid.len()];
        let mut kb = 0;
        while kb < nl {
            let kt = kt_max.min(nl - kb);
            idx.iter_mut().for_each(|x| *x = 0);
            for m in 0..m_count {
                let m_src: usize = idx.iter().zip(mid_st).map(|(i, s)| i * s).sum();
                let lo = base + i0 * sd + m_src + kb * sl;
                pager.touch(kt * run, lo, lo + (cnt - 1) * sd + (kt - 1) * sl + isz);
                let mut ib = 0;
                while ib < cnt {
                    let ie = (ib + it).min(cnt);
                    for i in ib..ie {
                        let s0 = base + (i0 + i) * sd + m_src + kb * sl;
                        let o0 = (i * row + m * nl + kb) * isz;
                        let dst = &mut out[o0..o0 + kt * isz];
                        for (k, o) in dst.chunks_exact_mut(isz).enumerate() {
                            let s = s0 + k * sl;
                            copy_item::<N>(o, &self.src[s..s + isz]);
                        }
                    }
                    ib = ie;
                }
                // Next index of the middle axes, the last fastest.
                for j in (0..idx.len()).rev() {
                    idx[j] += 1;
                    if idx[j] < mid[j] {
                        break;
                    }
                    idx[j] = 0;
                }
            }
            kb += kt;
        }
    }
}

#[inline(always)]
fn copy_item<const N: usize>(o: &mut [u8], s: &[u8]) {
    if N == 0 {
        o.copy_from_slice(s);
    } else {
        o[..N].copy_from_slice(&s[..N]);
    }
}

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

    /// Every byte range of every shape, against the plain transpose.
    #[test]
    fn ranges_match_the_plain_transpose() {
        let shapes: &[&[u64]] = &[
            &[2, 3],
            &[7, 1, 5],
            &[3, 4, 5],
            &[2, 3, 2, 3],
            &[1, 9, 1, 4],
            &[70, 3],
            &[3, 70],
            &[5, 2, 40],
            &[33, 2, 3, 2],
        ];
        for &shape in shapes {
            for isz in [1usize, 2, 3, 4, 8, 12, 16, 32] {
                let n: u64 = shape.iter().product::<u64>() * isz as u64;
                let src: Vec<u8> = (0..n).map(|i| (i * 7 + i / 251) as u8).collect();
                let want = transpose(&src, shape, isz as u64);
                let t = Transposed::new(&src, shape, isz);
                let mut all = vec![0u8; n as usize];
                t.read(0, &mut all).unwrap();
                assert_eq!(all, want, "{shape:?} isz {isz}");
                let items = n as usize / isz;
                for step in [1, 2, 5, 13, 64] {
                    let mut got = Vec::new();
                    let mut e = 0;
                    while e < items {
                        let k = step.min(items - e);
                        let mut buf = vec![0u8; k * isz];
                        t.read((e * isz) as u64, &mut buf).unwrap();
                        got.extend_from_slice(&buf);
                        e += k;
                    }
                    assert_eq!(got, want, "{shape:?} isz {isz} step {step}");
                }
            }
        }
    }
}
