//! numpy basic indexing, from text: `5`, `-3:`, `10:20, ::2`, `..., -1`,
//! `::-4`, `None`, with or without the surrounding brackets. [`parse`]
//! reads the text; [`Items::resolve`] applies it to a shape the way
//! `a[...]` does (Python's `slice.indices` rules, numpy's error messages)
//! and gives a [`Selection`]: where each element of the result lives in
//! the file's storage.

/// One comma-separated item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Index(i64),
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
        step: Option<i64>,
    },
    Ellipsis,
    NewAxis,
}

/// A parsed index, with its text as given (without brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Items {
    pub items: Vec<Item>,
    pub text: String,
}

/// Why an index does not apply: numpy's `IndexError` text, or a syntax
/// error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for IndexError {}

fn int(s: &str) -> Result<i64, IndexError> {
    let t = s.trim().replace('_', "");
    t.parse::<i64>()
        .map_err(|_| IndexError(format!("{:?} is not an integer", s.trim())))
}

fn opt_int(s: &str) -> Result<Option<i64>, IndexError> {
    let t = s.trim();
    if t.is_empty() || t == "None" {
        Ok(None)
    } else {
        int(t).map(Some)
    }
}

/// Parses index text such as `"[1:5, ..., ::-2]"` or `"-3:"`.
pub fn parse(text: &str) -> Result<Items, IndexError> {
    let mut t = text.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        t = inner.trim();
    }
    if t.is_empty() {
        return Err(IndexError("empty index".into()));
    }
    let mut parts: Vec<&str> = t.split(',').collect();
    // A trailing comma (`3,`) makes a tuple, as in Python.
    if parts.len() > 1 && parts.last().is_some_and(|p| p.trim().is_empty()) {
        parts.pop();
    }
    let items = parts
        .iter()
        .map(|p| {
            let p = p.trim();
            match p {
                "..." | "Ellipsis" => Ok(Item::Ellipsis),
                "None" | "np.newaxis" | "newaxis" => Ok(Item::NewAxis),
                _ if p.contains(':') => {
                    let f: Vec<&str> = p.split(':').collect();
                    if f.len() > 3 {
                        return Err(IndexError(format!("{p:?} is not a slice")));
                    }
                    Ok(Item::Slice {
                        start: opt_int(f[0])?,
                        stop: opt_int(f[1])?,
                        step: if f.len() == 3 { opt_int(f[2])? } else { None },
                    })
                }
                _ => Ok(Item::Index(int(p)?)),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if items.iter().filter(|i| **i == Item::Ellipsis).count() > 1 {
        return Err(IndexError(
            "an index can only have a single ellipsis ('...')".into(),
        ));
    }
    Ok(Items {
        items,
        text: t.to_string(),
    })
}

/// One dimension of the result: `count` elements, `step` storage positions
/// apart (0 for a new axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dim {
    pub count: u64,
    pub step: i64,
}

/// Where the elements of `a[index]` live: the storage position of the first
/// one and, per result dimension, the count and the stride.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub base: u64,
    pub dims: Vec<Dim>,
}

impl Selection {
    pub fn shape(&self) -> Vec<u64> {
        self.dims.iter().map(|d| d.count).collect()
    }

    pub fn len(&self) -> u64 {
        self.dims.iter().map(|d| d.count).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Storage positions of the result's elements, in C order.
    pub fn positions(&self) -> impl Iterator<Item = u64> + '_ {
        let n = self.len();
        let mut idx = vec![0u64; self.dims.len()];
        let mut pos = self.base as i64;
        (0..n).map(move |k| {
            if k > 0 {
                for ax in (0..self.dims.len()).rev() {
                    let d = self.dims[ax];
                    idx[ax] += 1;
                    pos += d.step;
                    if idx[ax] < d.count {
                        break;
                    }
                    pos -= d.step * d.count as i64;
                    idx[ax] = 0;
                }
            }
            pos as u64
        })
    }
}

/// Python's `slice(start, stop, step).indices(len)`, as (start, step, count).
fn slice_indices(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    len: i64,
) -> Result<(i64, i64, u64), IndexError> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(IndexError("slice step cannot be zero".into()));
    }
    let (lower, upper) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let clamp = |v: Option<i64>, default: i64| match v {
        None => default,
        Some(v) if v < 0 => (v.saturating_add(len)).max(lower),
        Some(v) => v.min(upper),
    };
    let start = clamp(start, if step > 0 { lower } else { upper });
    let stop = clamp(stop, if step > 0 { upper } else { lower });
    let count = if step > 0 {
        if stop > start {
            (stop - start - 1) / step + 1
        } else {
            0
        }
    } else if start > stop {
        (start - stop - 1) / (-step) + 1
    } else {
        0
    };
    Ok((start, step, count as u64))
}

impl Items {
    /// Applies the index to an array of `shape` stored in C or Fortran
    /// order.
    pub fn resolve(&self, shape: &[u64], fortran: bool) -> Result<Selection, IndexError> {
        let used = self
            .items
            .iter()
            .filter(|i| !matches!(i, Item::Ellipsis | Item::NewAxis))
            .count();
        if used > shape.len() {
            return Err(IndexError(format!(
                "too many indices for array: array is {}-dimensional, but {used} were indexed",
                shape.len()
            )));
        }
        // Storage strides in elements.
        let mut strides = vec![0i64; shape.len()];
        let mut acc = 1i64;
        let order: Vec<usize> = if fortran {
            (0..shape.len()).collect()
        } else {
            (0..shape.len()).rev().collect()
        };
        for ax in order {
            strides[ax] = acc;
            acc = acc.saturating_mul(shape[ax] as i64);
        }
        let mut items: Vec<Item> = Vec::new();
        for it in &self.items {
            if *it == Item::Ellipsis {
                items.extend(std::iter::repeat_n(
                    Item::Slice {
                        start: None,
                        stop: None,
                        step: None,
                    },
                    shape.len() - used,
                ));
            } else {
                items.push(*it);
            }
        }
        let mut ax = 0usize;
        let mut base = 0i64;
        let mut dims = Vec::new();
        for it in items {
            match it {
                Item::NewAxis => dims.push(Dim { count: 1, step: 0 }),
                Item::Index(i) => {
                    let d = shape[ax] as i64;
                    let j = if i < 0 { i + d } else { i };
                    if j < 0 || j >= d {
                        return Err(IndexError(format!(
                            "index {i} is out of bounds for axis {ax} with size {d}"
                        )));
                    }
                    base += j * strides[ax];
                    ax += 1;
                }
                Item::Slice { start, stop, step } => {
                    let (s, st, n) = slice_indices(start, stop, step, shape[ax] as i64)?;
                    if n > 0 {
                        base += s * strides[ax];
                    }
                    dims.push(Dim {
                        count: n,
                        step: st * strides[ax],
                    });
                    ax += 1;
                }
                Item::Ellipsis => unreachable!("expanded above"),
            }
        }
        for a in ax..shape.len() {
            dims.push(Dim {
                count: shape[a],
                step: strides[a],
            });
        }
        Ok(Selection {
            base: base as u64,
            dims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(text: &str, shape: &[u64], fortran: bool) -> (Vec<u64>, Vec<u64>) {
        let s = parse(text).unwrap().resolve(shape, fortran).unwrap();
        (s.shape(), s.positions().collect())
    }

    #[test]
    fn slices_follow_python() {
        assert_eq!(sel("1:4", &[6], false), (vec![3], vec![1, 2, 3]));
        assert_eq!(sel("-2:", &[6], false), (vec![2], vec![4, 5]));
        assert_eq!(sel("::-2", &[5], false), (vec![3], vec![4, 2, 0]));
        assert_eq!(sel("[10:]", &[5], false), (vec![0], vec![]));
        assert_eq!(sel("-1", &[5], false), (vec![], vec![4]));
        assert_eq!(sel("1, ::2", &[2, 3], false), (vec![2], vec![3, 5]));
        assert_eq!(sel("..., 0", &[2, 3], false), (vec![2], vec![0, 3]));
        assert_eq!(sel(":, 1", &[2, 3], true), (vec![2], vec![2, 3]));
        assert_eq!(sel("None, 0", &[2, 3], false), (vec![1, 3], vec![0, 1, 2]));
    }

    #[test]
    fn errors_are_numpys() {
        let e = |t: &str, s: &[u64]| parse(t).and_then(|i| i.resolve(s, false)).unwrap_err().0;
        assert_eq!(
            e("5", &[3]),
            "index 5 is out of bounds for axis 0 with size 3"
        );
        assert_eq!(
            e("0, 0", &[3]),
            "too many indices for array: array is 1-dimensional, but 2 were indexed"
        );
        assert_eq!(e("::0", &[3]), "slice step cannot be zero");
        assert!(parse("a:b").is_err());
        assert!(parse("..., ...").is_err());
    }
}
