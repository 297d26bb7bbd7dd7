//! Planning a join: checking the inputs' headers one at a time and working
//! out the result as numpy would (shape, header, memory order).

use super::header::{shape_repr, Header, Layout};
use super::pylit::Py;
use super::Error;

/// Memory order of array data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    C,
    F,
}

/// How the inputs are joined, as numpy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `np.concatenate(arrays, axis)`; a negative axis counts from the end.
    Concatenate(i64),
    /// `np.vstack(arrays)`: `np.atleast_2d` of each, then axis 0.
    Vstack,
    /// `np.stack(arrays)`: a new leading axis.
    Stack,
}

/// Shape an array takes in `np.vstack` (`np.atleast_2d`).
pub fn vstack_shape(shape: &[u64]) -> Vec<u64> {
    match shape.len() {
        0 => vec![1, 1],
        1 => vec![1, shape[0]],
        _ => shape.to_vec(),
    }
}

/// Strides numpy gives an array `np.load` made: C strides (a zero dimension
/// counting as one, as `_array_fill_strides` does), or for `fortran_order`
/// the transpose of the C strides of the reversed shape. Only compared with
/// each other, so saturating arithmetic is harmless.
pub fn loaded_strides(shape: &[u64], fortran_order: bool, itemsize: u64) -> Vec<u64> {
    let c = |dims: &mut dyn Iterator<Item = u64>| -> Vec<u64> {
        let mut s = itemsize;
        dims.map(|d| {
            let here = s;
            s = s.saturating_mul(d.max(1));
            here
        })
        .collect()
    };
    if fortran_order {
        c(&mut shape.iter().copied())
    } else {
        let mut v = c(&mut shape.iter().rev().copied());
        v.reverse();
        v
    }
}

/// True when an array's bytes read the same in both orders: numpy's flags
/// say C- and F-contiguous (at most one dimension above 1, or no elements).
pub fn both_contiguous(shape: &[u64]) -> bool {
    shape.contains(&0) || shape.iter().filter(|&&d| d != 1).count() <= 1
}

/// numpy's choice of memory order for `np.concatenate`'s result: a stable
/// insertion sort of the axes by stride, where an ordered pair of axes is
/// swapped only when every input in which both axes have a length other than
/// 1 agrees (C order wins conflicts). The votes do not depend on the order
/// the inputs come in, so they are gathered in one pass in constant memory.
#[derive(Debug, Clone)]
pub struct OrderVotes {
    ndim: usize,
    /// `compared[a * ndim + b]`: some input compared axes a and b.
    compared: Vec<bool>,
    /// `greater[a * ndim + b]`: every such input has stride a > stride b.
    greater: Vec<bool>,
}

impl OrderVotes {
    pub fn new(ndim: usize) -> OrderVotes {
        OrderVotes {
            ndim,
            compared: vec![false; ndim * ndim],
            greater: vec![true; ndim * ndim],
        }
    }

    /// Adds one input by its shape and strides (as joined).
    pub fn add(&mut self, shape: &[u64], strides: &[u64]) {
        let n = self.ndim;
        for a in 0..n {
            for b in 0..n {
                if a != b && shape[a] != 1 && shape[b] != 1 {
                    self.compared[a * n + b] = true;
                    if strides[a] <= strides[b] {
                        self.greater[a * n + b] = false;
                    }
                }
            }
        }
    }

    /// Axes from the largest stride to the smallest in the result.
    pub fn perm(&self) -> Vec<usize> {
        let n = self.ndim;
        let mut perm: Vec<usize> = (0..n).collect();
        for i0 in 1..n {
            let mut ipos = i0;
            let j0 = perm[i0];
            for i1 in (0..i0).rev() {
                let j1 = perm[i1];
                if self.compared[j0 * n + j1] {
                    if self.greater[j0 * n + j1] {
                        ipos = i1;
                    } else {
                        break;
                    }
                }
            }
            if ipos != i0 {
                perm[ipos..=i0].rotate_right(1);
            }
        }
        perm
    }
}

/// The order `np.save` writes a result of `shape` whose axes are laid out
/// by `perm` (largest stride first): Fortran only when the result is
/// F-contiguous and not C-contiguous.
pub fn saved_order(shape: &[u64], perm: &[usize], itemsize: u64) -> Order {
    let n = shape.len();
    let mut strides = vec![0u64; n];
    let mut s = itemsize;
    for &p in perm.iter().rev() {
        strides[p] = s;
        s = s.saturating_mul(shape[p]);
    }
    if shape.contains(&0) {
        return Order::C;
    }
    let contiguous = |axes: &mut dyn Iterator<Item = usize>| {
        let mut sd = itemsize;
        for i in axes {
            if shape[i] != 1 {
                if strides[i] != sd {
                    return false;
                }
                sd = sd.saturating_mul(shape[i]);
            }
        }
        true
    };
    if contiguous(&mut (0..n).rev()) {
        Order::C
    } else if contiguous(&mut (0..n)) {
        Order::F
    } else {
        Order::C
    }
}

/// Checks headers one at a time and plans the result.
#[derive(Debug)]
pub struct Planner {
    mode: Mode,
    /// Join axis in the joined shapes.
    axis: usize,
    descr: Py,
    first_layout: Layout,
    /// The first input's shape as joined.
    ref_shape: Vec<u64>,
    axis_sum: u64,
    count: u64,
    votes: OrderVotes,
    last: Option<(Vec<u64>, bool)>,
    /// Some non-empty input's bytes are not in C (resp. F) order.
    not_c: bool,
    not_f: bool,
    /// How messages name the first input.
    first_name: String,
}

/// The planned result.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub layout: Layout,
    /// Memory order of the result's data (Fortran iff its header says so).
    pub order: Order,
    /// The first input's shape as joined, and the join axis in it.
    pub joined: Vec<u64>,
    pub axis: usize,
    /// Whether some input is stored in the other memory order (and must be
    /// transposed).
    pub transposes: bool,
    /// Outer indices: blocks each input contributes.
    pub outer: u64,
    /// Bytes per step of the join axis within one block.
    pub unit: u64,
    /// Bytes of one outer index of the result (all inputs' blocks).
    pub row: u64,
    pub data_bytes: u64,
    pub inputs: u64,
}

impl Geometry {
    /// Bytes one input of `axis_len` steps contributes per outer index.
    pub fn block(&self, axis_len: u64) -> u64 {
        axis_len * self.unit
    }
}

impl Planner {
    /// Starts a plan from the first input's header. Fails (with numpy's
    /// words) when `mode` cannot apply to it.
    pub fn new(mode: Mode, first: &Header) -> Result<Planner, Error> {
        if first.dtype.has_object() {
            return Err(Error::join(
                "holds Python objects (pickled data): npy never joins these",
            ));
        }
        let ndim_joined = match mode {
            Mode::Concatenate(_) => first.shape.len(),
            Mode::Vstack => first.shape.len().max(2),
            Mode::Stack => first.shape.len() + 1,
        };
        let axis = match mode {
            Mode::Concatenate(a) => {
                let nd = first.shape.len() as i64;
                if nd == 0 {
                    return Err(Error::join(
                        "zero-dimensional arrays cannot be concatenated (shape ())",
                    ));
                }
                if a < -nd || a >= nd {
                    return Err(Error::join(format!(
                        "axis {a} is out of bounds for array of dimension {nd}"
                    )));
                }
                a.rem_euclid(nd) as usize
            }
            Mode::Vstack | Mode::Stack => 0,
        };
        let mut p = Planner {
            mode,
            axis,
            descr: first.descr.clone(),
            first_layout: first.layout(),
            ref_shape: Vec::new(),
            axis_sum: 0,
            count: 0,
            votes: OrderVotes::new(ndim_joined),
            last: None,
            not_c: false,
            not_f: false,
            first_name: "array 0".into(),
        };
        p.ref_shape = p.joined_shape(&first.shape);
        Ok(p)
    }

    /// Names the first input in messages ("array 0" unless told).
    pub fn name_first(&mut self, name: String) {
        self.first_name = name;
    }

    /// The shape an input takes in the join (`np.atleast_2d`, new axis).
    pub fn joined_shape(&self, shape: &[u64]) -> Vec<u64> {
        match self.mode {
            Mode::Concatenate(_) => shape.to_vec(),
            Mode::Vstack => vstack_shape(shape),
            Mode::Stack => std::iter::once(1).chain(shape.iter().copied()).collect(),
        }
    }

    fn joined_strides(&self, shape: &[u64], fortran_order: bool) -> Vec<u64> {
        let s = loaded_strides(shape, fortran_order, self.first_layout.itemsize());
        // Added axes have length 1 and never take part in the vote.
        match (self.mode, shape.len()) {
            (Mode::Vstack, 0) => vec![0, 0],
            (Mode::Vstack, 1) | (Mode::Stack, _) => std::iter::once(0).chain(s).collect(),
            _ => s,
        }
    }

    /// Steps along the join axis that an input of `shape` contributes.
    pub fn axis_len(&self, shape: &[u64]) -> u64 {
        match self.mode {
            Mode::Stack => 1,
            Mode::Vstack if shape.len() < 2 => 1,
            // (`get`: a file that changed between two walks must not panic.)
            _ => shape.get(self.axis).copied().unwrap_or(0),
        }
    }

    /// Checks one input (the first one too) and adds it. `tag` is the
    /// caller's name for it (an input number or a byte offset), returned by
    /// [`Planner::finish`] when this input is the one in the wrong order.
    pub fn add(&mut self, h: &Header, _tag: u64) -> Result<(), Error> {
        if h.dtype.has_object() {
            return Err(Error::join(
                "holds Python objects (pickled data): npy never joins these",
            ));
        }
        if !crate::npy::dtype::same_descr(&h.descr, &self.descr) {
            return Err(Error::join(format!(
                "dtype {} differs from {}'s {} (byte order included; npy never converts)",
                h.descr.repr(),
                self.first_name,
                self.descr.repr()
            )));
        }
        if self.count > 0 && !self.matches_last(h) {
            self.check_shape(&h.shape)?;
        }
        let len = self.axis_len(&h.shape);
        self.axis_sum = self
            .axis_sum
            .checked_add(len)
            .ok_or_else(|| Error::join("the joined shape overflows"))?;
        if !self.matches_last(h) {
            let js = self.joined_shape(&h.shape);
            let st = self.joined_strides(&h.shape, h.fortran_order);
            self.votes.add(&js, &st);
            let bytes = h.data_bytes().unwrap_or(0);
            if bytes > 0 && !both_contiguous(&h.shape) {
                if h.fortran_order {
                    self.not_c = true;
                } else {
                    self.not_f = true;
                }
            }
            self.last = Some((h.shape.clone(), h.fortran_order));
        }
        self.count += 1;
        Ok(())
    }

    fn matches_last(&self, h: &Header) -> bool {
        matches!(&self.last, Some((s, f)) if *s == h.shape && *f == h.fortran_order)
    }

    fn check_shape(&self, shape: &[u64]) -> Result<(), Error> {
        let js = self.joined_shape(shape);
        let r = &self.ref_shape;
        let what = match self.mode {
            Mode::Stack => "np.stack needs all shapes equal",
            Mode::Vstack => "np.vstack needs all dimensions after the first equal",
            Mode::Concatenate(_) => "",
        };
        if js.len() != r.len() {
            return Err(Error::join(match self.mode {
                Mode::Concatenate(_) => format!(
                    "has {} dimensions (shape {}), {} has {} (shape {})",
                    js.len(),
                    shape_repr(shape),
                    self.first_name,
                    r.len(),
                    shape_repr(&self.first_layout.shape)
                ),
                _ => format!(
                    "shape {} does not join with {}'s {}: {what}",
                    shape_repr(shape),
                    self.first_name,
                    shape_repr(&self.first_layout.shape)
                ),
            }));
        }
        for (i, (&a, &b)) in js.iter().zip(r).enumerate() {
            if i != self.axis && a != b {
                return Err(Error::join(match self.mode {
                    Mode::Concatenate(_) => format!(
                        "shape {} does not match {}'s {} outside axis {}",
                        shape_repr(shape),
                        self.first_name,
                        shape_repr(&self.first_layout.shape),
                        self.axis
                    ),
                    _ => format!(
                        "shape {} does not join with {}'s {}: {what}",
                        shape_repr(shape),
                        self.first_name,
                        shape_repr(&self.first_layout.shape)
                    ),
                }));
            }
        }
        Ok(())
    }

    /// The result, or why npy cannot write it. The error's first member
    /// names an input (its index and the tag given to [`Planner::add`])
    /// when one is to blame; every error today is about the whole join
    /// (inputs in either memory order are transposed as needed, whatever
    /// their size), so it is `None`.
    #[allow(clippy::type_complexity)]
    pub fn finish(&self) -> Result<Geometry, Error> {
        if self.count == 0 {
            return Err(Error::join("no arrays to join"));
        }
        let mut shape = self.ref_shape.clone();
        shape[self.axis] = self.axis_sum;
        let itemsize = self.first_layout.itemsize();
        let order = saved_order(&shape, &self.votes.perm(), itemsize);
        let layout = Layout::new(self.descr.clone(), order == Order::F, shape.clone())
            .map_err(|e| Error::join(format!("the joined array: {e}")))?;
        let data_bytes = layout
            .data_bytes()
            .map_err(|e| Error::join(e.to_string()))?;
        let (mem, axis) = match order {
            Order::C => (shape.clone(), self.axis),
            Order::F => (
                shape.iter().rev().copied().collect(),
                shape.len() - 1 - self.axis,
            ),
        };
        // Products of sub-shapes of a shape whose full product fits.
        let prod = |d: &[u64]| d.iter().fold(1u64, |a, &x| a.saturating_mul(x));
        let outer = prod(&mem[..axis]);
        let unit = prod(&mem[axis + 1..]).saturating_mul(itemsize);
        let row = unit.saturating_mul(self.axis_sum);
        Ok(Geometry {
            layout,
            order,
            joined: self.ref_shape.clone(),
            axis: self.axis,
            transposes: match order {
                Order::C => self.not_c,
                Order::F => self.not_f,
            },
            outer,
            unit,
            row,
            data_bytes,
            inputs: self.count,
        })
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The length of the result's header if it comes out in C order and
    /// joined along axis 0 (the common case, which can be copied while the
    /// headers are still being read): numpy's spare growth-axis digits make
    /// it independent of the final length.
    pub fn c_header_len_along_0(&self) -> Option<usize> {
        if self.axis != 0 {
            return None;
        }
        let l = Layout::new(self.descr.clone(), false, self.ref_shape.clone()).ok()?;
        Some(l.to_npy_header().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(inputs: &[(&[u64], bool)]) -> Vec<usize> {
        let mut v = OrderVotes::new(inputs[0].0.len());
        for (s, f) in inputs {
            v.add(s, &loaded_strides(s, *f, 8));
        }
        v.perm()
    }

    #[test]
    fn order_like_numpy() {
        assert_eq!(votes(&[(&[3, 4], false), (&[2, 4], false)]), vec![0, 1]);
        assert_eq!(votes(&[(&[3, 4], true), (&[3, 2], true)]), vec![1, 0]);
        // C order wins a conflict.
        assert_eq!(votes(&[(&[3, 4], true), (&[3, 4], false)]), vec![0, 1]);
        // The example traced by hand from numpy's insertion sort.
        assert_eq!(
            votes(&[(&[1, 4, 3], false), (&[2, 4, 3], true)]),
            vec![1, 2, 0]
        );
        assert_eq!(saved_order(&[3, 4, 3], &[1, 2, 0], 8), Order::C);
        assert_eq!(saved_order(&[5, 4], &[1, 0], 8), Order::F);
        assert_eq!(saved_order(&[5, 1], &[1, 0], 8), Order::C);
        assert_eq!(saved_order(&[0, 4], &[1, 0], 8), Order::C);
        // np.stack of Fortran arrays: neither contiguous, saved as C.
        assert_eq!(saved_order(&[2, 3, 4], &[0, 2, 1], 8), Order::C);
    }

    #[test]
    fn strides() {
        assert_eq!(loaded_strides(&[2, 3, 4], false, 8), vec![96, 32, 8]);
        assert_eq!(loaded_strides(&[2, 3, 4], true, 8), vec![8, 16, 48]);
        assert_eq!(loaded_strides(&[2, 0, 4], false, 8), vec![32, 32, 8]);
    }
}
