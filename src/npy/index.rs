//! numpy basic indexing: parsing `INDEX` text (`5`, `-3:`, `10:20, ::2`,
//! `..., -1`, `[2, 1:3]`) and resolving it against a shape.
//!
//! A resolved [`Selection`] is a strided view: a shape, the element offset of
//! its first element and one element stride per axis, so that the element at
//! multi-index `(i0, i1, ...)` is at `base + i0*s0 + i1*s1 + ...` elements
//! from the start of the data. Nothing here reads data.

/// One item of an index expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// An integer: picks one position and drops the axis.
    At(i64),
    /// `start:stop:step`, each part optional.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `...`: as many `:` as the other items leave axes.
    Ellipsis,
    /// `None` (`np.newaxis`): a new axis of length 1.
    NewAxis,
}

/// Why an index cannot be parsed or applied; the wording follows numpy's
/// `IndexError` messages where numpy has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexError {
    Syntax(String),
    OutOfBounds { index: i64, axis: usize, size: u64 },
    TooMany { ndim: usize, given: usize },
    TwoEllipses,
    ZeroStep,
}

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexError::Syntax(m) => write!(f, "invalid index: {m}"),
            IndexError::OutOfBounds { index, axis, size } => write!(
                f,
                "index {index} is out of bounds for axis {axis} with size {size}"
            ),
            IndexError::TooMany { ndim, given } => write!(
                f,
                "too many indices for array: array is {ndim}-dimensional, but {given} were indexed"
            ),
            IndexError::TwoEllipses => {
                write!(f, "an index can only have a single ellipsis ('...')")
            }
            IndexError::ZeroStep => write!(f, "slice step cannot be zero"),
        }
    }
}

impl std::error::Error for IndexError {}

/// Parses index text; surrounding brackets are optional and an empty text
/// (or `[]`, `()`) selects everything.
pub fn parse(text: &str) -> Result<Vec<Item>, IndexError> {
    let mut t = text.trim();
    if (t.starts_with('[') && t.ends_with(']')) || (t.starts_with('(') && t.ends_with(')')) {
        t = t[1..t.len() - 1].trim();
    }
    if t.is_empty() {
        return Ok(vec![]);
    }
    let parts: Vec<&str> = t.split(',').map(str::trim).collect();
    let mut items = Vec::with_capacity(parts.len());
    for (k, p) in parts.iter().enumerate() {
        if p.is_empty() {
            // A trailing comma is allowed, as in Python: `a[1,]`.
            if k == parts.len() - 1 && k > 0 {
                continue;
            }
            return Err(IndexError::Syntax(format!("empty item in {text:?}")));
        }
        items.push(parse_item(p)?);
    }
    Ok(items)
}

fn parse_item(p: &str) -> Result<Item, IndexError> {
    if p == "..." || p == "Ellipsis" {
        return Ok(Item::Ellipsis);
    }
    if matches!(p, "None" | "np.newaxis" | "numpy.newaxis" | "newaxis") {
        return Ok(Item::NewAxis);
    }
    if p.contains(':') {
        let bits: Vec<&str> = p.split(':').map(str::trim).collect();
        if bits.len() > 3 {
            return Err(IndexError::Syntax(format!("{p:?} has more than two ':'")));
        }
        let opt = |s: &str| -> Result<Option<i64>, IndexError> {
            if s.is_empty() || s == "None" {
                Ok(None)
            } else {
                int(s).map(Some)
            }
        };
        let start = opt(bits[0])?;
        let stop = opt(bits[1])?;
        let step = match bits.get(2) {
            Some(s) => opt(s)?,
            None => None,
        };
        return Ok(Item::Slice(start, stop, step));
    }
    Ok(Item::At(int(p)?))
}

fn int(s: &str) -> Result<i64, IndexError> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s).trim_start();
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() || !clean.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IndexError::Syntax(format!(
            "{s:?} is not an integer, a slice (start:stop:step), '...' or None"
        )));
    }
    // Python integers are unbounded; beyond i64 numpy refuses them too.
    let v: i128 = clean
        .parse()
        .map_err(|_| IndexError::Syntax(format!("{s:?} is too large")))?;
    let v = if s.starts_with('-') { -v } else { v };
    i64::try_from(v).map_err(|_| IndexError::Syntax(format!("{s:?} is too large")))
}

/// A strided view of an array's elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub shape: Vec<u64>,
    /// Element offset of the first selected element.
    pub base: u64,
    /// Element stride of each axis (negative for reversed slices).
    pub strides: Vec<i64>,
}

impl Selection {
    /// The whole array of `shape`, in C or Fortran order.
    pub fn whole(shape: &[u64], fortran_order: bool) -> Selection {
        let n = shape.len();
        let mut strides = vec![0i64; n];
        let mut acc: i64 = 1;
        let order: Vec<usize> = if fortran_order {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        for ax in order {
            strides[ax] = acc;
            acc = acc.saturating_mul(shape[ax].max(1) as i64);
        }
        Selection {
            shape: shape.to_vec(),
            base: 0,
            strides,
        }
    }

    /// The whole array of `shape` whose elements are themselves arrays of
    /// `item_shape` (a subarray dtype): numpy appends the item's axes, which
    /// are always in C order inside each element.
    pub fn whole_with_item_shape(
        shape: &[u64],
        fortran_order: bool,
        item_shape: &[u64],
    ) -> Selection {
        let outer = Selection::whole(shape, fortran_order);
        let inner = Selection::whole(item_shape, false);
        let items = item_shape.iter().product::<u64>().max(1) as i64;
        let mut all = shape.to_vec();
        all.extend_from_slice(item_shape);
        let mut strides: Vec<i64> = outer
            .strides
            .iter()
            .map(|s| s.saturating_mul(items))
            .collect();
        strides.extend(inner.strides);
        Selection {
            shape: all,
            base: 0,
            strides,
        }
    }

    /// Position `i` along axis 0, as a selection of the remaining axes.
    pub fn row(&self, i: u64) -> Selection {
        Selection {
            shape: self.shape[1..].to_vec(),
            base: (self.base as i128 + i as i128 * self.strides[0] as i128) as u64,
            strides: self.strides[1..].to_vec(),
        }
    }

    /// Element offsets of the positions `kept[axis]` along each axis (their
    /// cartesian product), in C order; `kept` has one list per axis.
    pub fn offsets_of(&self, kept: &[Vec<u64>]) -> Vec<u64> {
        let total: usize = kept.iter().map(Vec::len).product();
        let mut out = Vec::with_capacity(total);
        if total == 0 {
            return out;
        }
        let n = kept.len();
        let mut pos = vec![0usize; n];
        let mut idx: Vec<u64> = kept.iter().map(|k| k[0]).collect();
        loop {
            out.push(self.offset(&idx));
            let mut ax = n;
            loop {
                if ax == 0 {
                    return out;
                }
                ax -= 1;
                pos[ax] += 1;
                if pos[ax] < kept[ax].len() {
                    idx[ax] = kept[ax][pos[ax]];
                    break;
                }
                pos[ax] = 0;
                idx[ax] = kept[ax][0];
            }
        }
    }

    /// Element offsets of every selected element, in C order, one at a
    /// time (no list of them is built).
    pub fn positions(&self) -> impl Iterator<Item = u64> + '_ {
        let n = if self.is_empty() { 0 } else { self.len() };
        let nd = self.shape.len();
        let mut idx = vec![0u64; nd];
        let mut pos = self.base as i128;
        (0..n).map(move |k| {
            if k > 0 {
                for ax in (0..nd).rev() {
                    idx[ax] += 1;
                    pos += self.strides[ax] as i128;
                    if idx[ax] < self.shape[ax] {
                        break;
                    }
                    pos -= self.strides[ax] as i128 * self.shape[ax] as i128;
                    idx[ax] = 0;
                }
            }
            pos as u64
        })
    }

    /// Element offsets of every selected element, in C order.
    pub fn offsets(&self) -> Vec<u64> {
        let kept: Vec<Vec<u64>> = self.shape.iter().map(|&n| (0..n).collect()).collect();
        self.offsets_of(&kept)
    }

    /// Number of selected elements.
    pub fn len(&self) -> u64 {
        self.shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .unwrap_or(u64::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.shape.contains(&0)
    }

    /// Element offset of the element at `idx` (one entry per axis).
    pub fn offset(&self, idx: &[u64]) -> u64 {
        let mut o = self.base as i128;
        for (i, s) in idx.iter().zip(&self.strides) {
            o += *i as i128 * *s as i128;
        }
        o as u64
    }

    /// Applies index items, as `a[items]` does in numpy.
    pub fn index(&self, items: &[Item]) -> Result<Selection, IndexError> {
        let ellipses = items.iter().filter(|i| **i == Item::Ellipsis).count();
        if ellipses > 1 {
            return Err(IndexError::TwoEllipses);
        }
        let ndim = self.shape.len();
        let consumes = |it: &Item| !matches!(it, Item::Ellipsis | Item::NewAxis);
        let used = items.iter().filter(|i| consumes(i)).count();
        if used > ndim {
            return Err(IndexError::TooMany { ndim, given: used });
        }
        let mut expanded: Vec<Item> = Vec::with_capacity(ndim + items.len());
        for it in items {
            if *it == Item::Ellipsis {
                expanded.extend(std::iter::repeat_n(
                    Item::Slice(None, None, None),
                    ndim - used,
                ));
            } else {
                expanded.push(*it);
            }
        }
        let have = expanded.iter().filter(|i| consumes(i)).count();
        expanded.extend(std::iter::repeat_n(
            Item::Slice(None, None, None),
            ndim - have,
        ));
        let mut out = Selection {
            shape: vec![],
            base: self.base,
            strides: vec![],
        };
        let mut base = self.base as i128;
        let mut axis = 0;
        for it in &expanded {
            if *it == Item::NewAxis {
                out.shape.push(1);
                out.strides.push(0);
                continue;
            }
            let size = self.shape[axis];
            let stride = self.strides[axis] as i128;
            axis += 1;
            match *it {
                Item::At(i) => {
                    let pos = if i < 0 {
                        i as i128 + size as i128
                    } else {
                        i as i128
                    };
                    if pos < 0 || pos >= size as i128 {
                        return Err(IndexError::OutOfBounds {
                            index: i,
                            axis: axis - 1,
                            size,
                        });
                    }
                    base += pos * stride;
                }
                Item::Slice(start, stop, step) => {
                    let (first, step, len) = slice_indices(start, stop, step, size)?;
                    if len > 0 {
                        base += first as i128 * stride;
                    }
                    out.shape.push(len);
                    out.strides.push((stride * step as i128) as i64);
                }
                Item::Ellipsis | Item::NewAxis => unreachable!("expanded above"),
            }
        }
        out.base = base as u64;
        Ok(out)
    }

    /// The first `n` (or fewer) positions along axis 0.
    pub fn head(&self, n: u64) -> Selection {
        let mut s = self.clone();
        if let Some(d) = s.shape.first_mut() {
            *d = (*d).min(n);
        }
        s
    }

    /// The last `n` (or fewer) positions along axis 0.
    pub fn tail(&self, n: u64) -> Selection {
        let mut s = self.clone();
        if let Some(d) = s.shape.first().copied() {
            let k = d.min(n);
            if k > 0 {
                s.base = (s.base as i128 + (d - k) as i128 * s.strides[0] as i128) as u64;
            }
            s.shape[0] = k;
        }
        s
    }
}

/// Python's `slice.indices(size)`: first position, step and length.
pub fn slice_indices(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    size: u64,
) -> Result<(u64, i64, u64), IndexError> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(IndexError::ZeroStep);
    }
    let n = size as i128;
    let adjust = |v: i64, lo: i128, hi: i128| -> i128 {
        let v = v as i128;
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let (b, e) = if step > 0 {
        (
            start.map_or(0, |v| adjust(v, 0, n)),
            stop.map_or(n, |v| adjust(v, 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |v| adjust(v, -1, n - 1)),
            stop.map_or(-1, |v| adjust(v, -1, n - 1)),
        )
    };
    let st = step as i128;
    let len = if step > 0 && b < e {
        (e - b - 1) / st + 1
    } else if step < 0 && e < b {
        (b - e - 1) / (-st) + 1
    } else {
        0
    };
    Ok((if len > 0 { b as u64 } else { 0 }, step, len as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn sel(shape: &[u64], text: &str) -> Result<Selection, IndexError> {
        Selection::whole(shape, false).index(&parse(text)?)
    }

    fn offsets(s: &Selection) -> Vec<u64> {
        assert_eq!(s.shape.len(), 1);
        (0..s.shape[0]).map(|i| s.offset(&[i])).collect()
    }

    #[test]
    fn parses_numpy_index_text() {
        assert_eq!(parse("5").unwrap(), vec![Item::At(5)]);
        assert_eq!(
            parse("[-3:]").unwrap(),
            vec![Item::Slice(Some(-3), None, None)]
        );
        assert_eq!(
            parse("10:20, ::2").unwrap(),
            vec![
                Item::Slice(Some(10), Some(20), None),
                Item::Slice(None, None, Some(2))
            ]
        );
        assert_eq!(
            parse("..., -1").unwrap(),
            vec![Item::Ellipsis, Item::At(-1)]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("1,").unwrap(), vec![Item::At(1)]);
        for bad in ["a", "1:2:3:4", "1,,2", "1.5", "--1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn none_adds_an_axis_of_one() {
        assert_eq!(parse("None, 2").unwrap(), vec![Item::NewAxis, Item::At(2)]);
        let s = sel(&[4, 5], "None, 2").unwrap();
        assert_eq!(s.shape, vec![1, 5]);
        assert_eq!(s.offsets(), vec![10, 11, 12, 13, 14]);
        let s = sel(&[2, 3, 4], "-1, None, 1:").unwrap();
        assert_eq!(s.shape, vec![1, 2, 4]);
        assert_eq!(s.offsets(), vec![16, 17, 18, 19, 20, 21, 22, 23]);
        assert_eq!(
            sel(&[4], "None, 9").unwrap_err().to_string(),
            "index 9 is out of bounds for axis 0 with size 4"
        );
    }

    #[test]
    fn slices_follow_python() {
        assert_eq!(offsets(&sel(&[10], "::-4").unwrap()), vec![9, 5, 1]);
        assert_eq!(offsets(&sel(&[10], "-3:").unwrap()), vec![7, 8, 9]);
        assert_eq!(offsets(&sel(&[10], "8:2:-3").unwrap()), vec![8, 5]);
        assert_eq!(offsets(&sel(&[10], "100:").unwrap()), Vec::<u64>::new());
        assert_eq!(offsets(&sel(&[10], "-100:2").unwrap()), vec![0, 1]);
        assert_eq!(sel(&[10], "::0"), Err(IndexError::ZeroStep));
    }

    #[test]
    fn integers_drop_axes_and_check_bounds() {
        let s = sel(&[4, 5], "2").unwrap();
        assert_eq!(offsets(&s), vec![10, 11, 12, 13, 14]);
        let s = sel(&[4, 5], "..., -1").unwrap();
        assert_eq!(offsets(&s), vec![4, 9, 14, 19]);
        assert_eq!(
            sel(&[4], "10").unwrap_err().to_string(),
            "index 10 is out of bounds for axis 0 with size 4"
        );
        assert_eq!(
            sel(&[4], "1, 2").unwrap_err().to_string(),
            "too many indices for array: array is 1-dimensional, but 2 were indexed"
        );
    }

    #[test]
    fn fortran_strides_and_tail() {
        let s = Selection::whole(&[2, 3], true);
        assert_eq!(s.offset(&[1, 2]), 5);
        assert_eq!(s.offset(&[1, 0]), 1);
        let t = Selection::whole(&[10], false).tail(3);
        assert_eq!(offsets(&t), vec![7, 8, 9]);
        assert_eq!(offsets(&Selection::whole(&[10], false).head(2)), vec![0, 1]);
    }

    fn naive_slice(n: i64, start: Option<i64>, stop: Option<i64>, step: i64) -> Vec<u64> {
        // Python's rule, written the slow way: walk from the clamped start.
        let norm = |v: i64| if v < 0 { v + n } else { v };
        let mut out = vec![];
        if step > 0 {
            let mut i = start.map_or(0, |v| norm(v).clamp(0, n));
            let e = stop.map_or(n, |v| norm(v).clamp(0, n));
            while i < e {
                out.push(i as u64);
                i += step;
            }
        } else {
            let mut i = start.map_or(n - 1, |v| norm(v).clamp(-1, n - 1));
            let e = stop.map_or(-1, |v| norm(v).clamp(-1, n - 1));
            while i > e {
                out.push(i as u64);
                i += step;
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn slices_match_the_slow_rule(
            n in 0i64..40,
            start in proptest::option::of(-60i64..60),
            stop in proptest::option::of(-60i64..60),
            step in (-7i64..8).prop_filter("non-zero", |s| *s != 0),
        ) {
            let s = Selection::whole(&[n as u64], false)
                .index(&[Item::Slice(start, stop, Some(step))])
                .unwrap();
            proptest::prop_assert_eq!(offsets(&s), naive_slice(n, start, stop, step));
        }

        #[test]
        fn any_text_parses_or_fails_without_panic(text in "[-0-9:., \\[\\]]{0,16}") {
            if let Ok(items) = parse(&text) {
                let shape = [3u64, 4, 5];
                if let Ok(s) = Selection::whole(&shape, true).index(&items) {
                    for o in s.offsets() {
                        proptest::prop_assert!(o < 60);
                    }
                }
            }
        }
    }

    #[test]
    fn cartesian_offsets_and_items() {
        let s = Selection::whole(&[3, 4], false);
        assert_eq!(s.offsets_of(&[vec![0, 2], vec![1, 3]]), vec![1, 3, 9, 11]);
        assert_eq!(s.row(2).offsets(), vec![8, 9, 10, 11]);
        let w = Selection::whole_with_item_shape(&[2], true, &[3]);
        assert_eq!(w.offsets(), (0..6).collect::<Vec<u64>>());
        assert_eq!(Selection::whole(&[], false).offsets(), vec![0]);
    }
}
