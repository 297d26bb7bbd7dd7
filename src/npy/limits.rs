//! What a numpy array can be: the limits every result shape npy computes
//! (a join, a stack, a grown or repaired array) is checked against before
//! anything is written, so npy never writes a file numpy cannot load.

use super::header::Layout;
use super::FormatError;

/// numpy's `NPY_MAXDIMS` (numpy 2.x): an array has at most 64 dimensions.
pub const MAX_DIMS: usize = 64;

/// Checks that numpy can hold an array of `layout`: at most [`MAX_DIMS`]
/// dimensions, and a size in bytes that fits numpy's signed 64-bit sizes.
pub fn check_result(layout: &Layout) -> Result<(), FormatError> {
    let n = layout.shape.len();
    if n > MAX_DIMS {
        return Err(FormatError::Shape(format!(
            "the result would have {n} dimensions, and numpy arrays have at most {MAX_DIMS}"
        )));
    }
    layout.data_bytes().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::pylit::Py;

    fn layout(shape: Vec<u64>) -> Layout {
        Layout::new(Py::Str("<f8".into()), false, shape).unwrap()
    }

    #[test]
    fn dims_and_size() {
        assert!(check_result(&layout(vec![1; 64])).is_ok());
        let e = check_result(&layout(vec![1; 65])).unwrap_err().to_string();
        assert!(e.contains("65 dimensions"), "{e}");
        assert!(check_result(&layout(vec![1 << 59])).is_ok());
    }
}
