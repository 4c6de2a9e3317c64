//! A reader for the small subset of Python pickles that numpy arrays of the classic
//! `mnist.pkl.gz` use (protocol 2, Python 2 strings). Any other opcode or callable is refused.
//!
//! Pickles are programs: a full unpickler would run arbitrary callables. This one recognises only
//! `numpy.core.multiarray._reconstruct`, `numpy.ndarray` and `numpy.dtype`, and builds plain
//! values from them, so a hostile file can at worst be rejected.

use crate::error::{DataError, Result};

/// A numpy array decoded from a pickle: its dtype string (`<f4`, `<i8`), shape and raw
/// little-endian bytes, borrowed from the pickle stream.
#[derive(Debug, Clone, PartialEq)]
pub struct NpArray<'a> {
    /// numpy's type string with byte order, such as `<f4` or `<i8`.
    pub dtype: String,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The array's memory, C order.
    pub data: &'a [u8],
}

impl NpArray<'_> {
    /// The elements as `f32`, if the dtype is little-endian float32.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        (self.dtype == "<f4").then(|| {
            self.data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        })
    }

    /// The elements as `i64`, if the dtype is little-endian int64.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        (self.dtype == "<i8").then(|| {
            self.data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()
        })
    }
}

/// A value of the supported subset.
#[derive(Debug, Clone, PartialEq)]
pub enum PickleValue<'a> {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A Python 2 `str` (bytes).
    Bytes(&'a [u8]),
    /// A tuple.
    Tuple(Vec<PickleValue<'a>>),
    /// A numpy array.
    Array(NpArray<'a>),
}

/// Objects that BUILD can mutate in place, kept in an arena so that memo references see the
/// mutation exactly as Python's would.
#[derive(Debug, Clone)]
enum Object<'a> {
    Dtype {
        kind: String,
        byte_order: Option<String>,
    },
    Array(Option<NpArray<'a>>),
}

#[derive(Debug, Clone)]
enum Value<'a> {
    Plain(PickleValue<'a>),
    Global(Global),
    Obj(usize),
    Mark,
    Tuple(Vec<Value<'a>>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Global {
    Reconstruct,
    NdArray,
    Dtype,
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    context: &'a str,
    stack: Vec<Value<'a>>,
    memo: std::collections::HashMap<u32, Value<'a>>,
    objects: Vec<Object<'a>>,
}

/// Parses a pickle of the supported subset. `context` names the stream in errors.
pub fn parse<'a>(data: &'a [u8], context: &'a str) -> Result<PickleValue<'a>> {
    let mut m = Machine {
        data,
        pos: 0,
        context,
        stack: Vec::new(),
        memo: Default::default(),
        objects: Vec::new(),
    };
    m.run()
}

impl<'a> Machine<'a> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T> {
        Err(DataError::Pickle {
            context: self.context.to_string(),
            reason: reason.into(),
            offset: self.pos,
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => self.err(format!(
                "truncated: needed {n} more bytes, {} left",
                self.data.len() - self.pos
            )),
        }
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("unterminated GLOBAL name");
        };
        let s = self.take(n + 1)?;
        std::str::from_utf8(&s[..n]).or_else(|_| self.err("GLOBAL name is not UTF-8"))
    }

    fn pop(&mut self) -> Result<Value<'a>> {
        match self.stack.pop() {
            Some(Value::Mark) => self.err("stack underflow across a MARK"),
            Some(v) => Ok(v),
            None => self.err("stack underflow"),
        }
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value<'a>>> {
        let mut items = (0..n).map(|_| self.pop()).collect::<Result<Vec<_>>>()?;
        items.reverse();
        Ok(items)
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Value<'a>>> {
        let Some(mark) = self.stack.iter().rposition(|v| matches!(v, Value::Mark)) else {
            return self.err("TUPLE without MARK");
        };
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    fn run(&mut self) -> Result<PickleValue<'a>> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    // PROTO
                    let proto = self.u8()?;
                    if proto > 2 {
                        return self.err(format!("pickle protocol {proto} is not supported (0-2)"));
                    }
                }
                b'c' => {
                    // GLOBAL
                    let module = self.line()?;
                    let name = self.line()?;
                    let global = match (module, name) {
                        ("numpy.core.multiarray", "_reconstruct") => Global::Reconstruct,
                        ("numpy", "ndarray") => Global::NdArray,
                        ("numpy", "dtype") => Global::Dtype,
                        _ => return self.err(format!("refusing GLOBAL {module}.{name}")),
                    };
                    self.stack.push(Value::Global(global));
                }
                b'q' => {
                    // BINPUT
                    let idx = self.u8()? as u32;
                    self.put(idx)?;
                }
                b'r' => {
                    // LONG_BINPUT
                    let idx = self.i32()? as u32;
                    self.put(idx)?;
                }
                b'h' => {
                    // BINGET
                    let idx = self.u8()? as u32;
                    self.get(idx)?;
                }
                b'j' => {
                    // LONG_BINGET
                    let idx = self.i32()? as u32;
                    self.get(idx)?;
                }
                b'(' => self.stack.push(Value::Mark),
                b't' => {
                    let items = self.pop_to_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                0x85..=0x87 => {
                    // TUPLE1..TUPLE3
                    let items = self.pop_n((op - 0x84) as usize)?;
                    self.stack.push(Value::Tuple(items));
                }
                b'J' => {
                    let v = self.i32()?;
                    self.stack.push(Value::Plain(PickleValue::Int(v as i64)));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Plain(PickleValue::Int(v as i64)));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Plain(PickleValue::Int(v as i64)));
                }
                b'T' => {
                    // BINSTRING: 4-byte signed length
                    let n = self.i32()?;
                    if n < 0 {
                        return self.err(format!("negative BINSTRING length {n}"));
                    }
                    let s = self.take(n as usize)?;
                    self.stack.push(Value::Plain(PickleValue::Bytes(s)));
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let s = self.take(n)?;
                    self.stack.push(Value::Plain(PickleValue::Bytes(s)));
                }
                b'N' => self.stack.push(Value::Plain(PickleValue::None)),
                0x88 => self.stack.push(Value::Plain(PickleValue::Bool(true))),
                0x89 => self.stack.push(Value::Plain(PickleValue::Bool(false))),
                b'R' => self.reduce()?,
                b'b' => self.build()?,
                b'.' => {
                    let top = self.pop()?;
                    if !self.stack.is_empty() {
                        return self.err(format!(
                            "{} values left on the stack at STOP",
                            self.stack.len()
                        ));
                    }
                    return self.resolve(top);
                }
                other => {
                    self.pos -= 1;
                    return self.err(format!("unsupported opcode 0x{other:02x}"));
                }
            }
        }
    }

    fn put(&mut self, idx: u32) -> Result<()> {
        let Some(top) = self.stack.last().cloned() else {
            return self.err("BINPUT on an empty stack");
        };
        if matches!(top, Value::Mark) {
            return self.err("BINPUT of a MARK");
        }
        self.memo.insert(idx, top);
        Ok(())
    }

    fn get(&mut self, idx: u32) -> Result<()> {
        match self.memo.get(&idx) {
            Some(v) => {
                let v = v.clone();
                self.stack.push(v);
                Ok(())
            }
            None => self.err(format!("BINGET of unknown memo {idx}")),
        }
    }

    fn reduce(&mut self) -> Result<()> {
        let args = self.pop()?;
        let callable = self.pop()?;
        let Value::Tuple(args) = args else {
            return self.err("REDUCE arguments are not a tuple");
        };
        let object = match callable {
            // _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills.
            Value::Global(Global::Reconstruct) => {
                if !matches!(args.first(), Some(Value::Global(Global::NdArray))) {
                    return self.err("_reconstruct of something other than numpy.ndarray");
                }
                Object::Array(None)
            }
            // dtype('f4', 0, 1)
            Value::Global(Global::Dtype) => match args.first() {
                Some(Value::Plain(PickleValue::Bytes(kind))) => Object::Dtype {
                    kind: String::from_utf8_lossy(kind).into_owned(),
                    byte_order: None,
                },
                _ => return self.err("numpy.dtype without a type string"),
            },
            _ => return self.err("REDUCE of an object that is not an allowed callable"),
        };
        self.objects.push(object);
        self.stack.push(Value::Obj(self.objects.len() - 1));
        Ok(())
    }

    fn build(&mut self) -> Result<()> {
        let state = self.pop()?;
        let Some(Value::Obj(target)) = self.stack.last().cloned() else {
            return self.err("BUILD on something that is not a numpy object");
        };
        let Value::Tuple(state) = state else {
            return self.err("BUILD state is not a tuple");
        };
        let built = match &self.objects[target] {
            Object::Dtype { kind, .. } => {
                // (version, byte_order, subarray, names, fields, elsize, alignment, flags)
                let Some(Value::Plain(PickleValue::Bytes(order))) = state.get(1) else {
                    return self.err("dtype state without a byte order");
                };
                Object::Dtype {
                    kind: kind.clone(),
                    byte_order: Some(String::from_utf8_lossy(order).into_owned()),
                }
            }
            Object::Array(_) => Object::Array(Some(self.array_from_state(&state)?)),
        };
        self.objects[target] = built;
        Ok(())
    }

    /// An ndarray's state: `(version, shape, dtype, is_fortran, raw_bytes)`.
    fn array_from_state(&self, state: &[Value<'a>]) -> Result<NpArray<'a>> {
        let [_, shape, dtype, fortran, raw] = state else {
            return self.err(format!(
                "ndarray state has {} fields, expected 5",
                state.len()
            ));
        };
        let shape = match shape {
            Value::Tuple(dims) => dims
                .iter()
                .map(|d| match d {
                    Value::Plain(PickleValue::Int(n)) if *n >= 0 => Ok(*n as usize),
                    _ => self.err("ndarray shape holds a non-integer or negative dimension"),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return self.err("ndarray shape is not a tuple"),
        };
        let dtype = match dtype {
            Value::Obj(i) => match &self.objects[*i] {
                Object::Dtype { kind, byte_order } => {
                    let order = match byte_order.as_deref() {
                        Some("<") | Some("|") | Some("=") | None => "<",
                        Some(other) => {
                            return self.err(format!("unsupported byte order {other:?}"));
                        }
                    };
                    format!("{order}{kind}")
                }
                Object::Array(_) => return self.err("ndarray dtype is an array"),
            },
            _ => return self.err("ndarray dtype is not a numpy.dtype"),
        };
        if !matches!(fortran, Value::Plain(PickleValue::Bool(false))) {
            return self.err("Fortran-ordered arrays are not supported");
        }
        let Value::Plain(PickleValue::Bytes(data)) = raw else {
            return self.err("ndarray data is not a byte string");
        };
        let item_size = match dtype.as_str() {
            "<f4" => 4,
            "<i8" => 8,
            "<u1" | "<i1" | "<b1" => 1,
            "<f8" => 8,
            "<i4" => 4,
            other => return self.err(format!("unsupported dtype {other}")),
        };
        let count = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(item_size));
        if count != Some(data.len()) {
            return self.err(format!(
                "ndarray of shape {shape:?} and dtype {dtype} needs {count:?} bytes, found {}",
                data.len()
            ));
        }
        Ok(NpArray { dtype, shape, data })
    }

    fn resolve(&self, value: Value<'a>) -> Result<PickleValue<'a>> {
        Ok(match value {
            Value::Plain(v) => v,
            Value::Tuple(items) => PickleValue::Tuple(
                items
                    .into_iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_>>()?,
            ),
            Value::Obj(i) => match &self.objects[i] {
                Object::Array(Some(a)) => PickleValue::Array(a.clone()),
                Object::Array(None) => return self.err("ndarray was never BUILT"),
                Object::Dtype { .. } => return self.err("a bare numpy.dtype is not a value"),
            },
            Value::Global(_) | Value::Mark => return self.err("result holds a callable or MARK"),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes the pickle that numpy 1.x on Python 2 produces for a 1-d or 2-d array, with the
    /// same opcodes as `mnist.pkl.gz`.
    pub(crate) fn array_pickle(out: &mut Vec<u8>, shape: &[u32], kind: &str, data: &[u8]) {
        out.extend_from_slice(b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01");
        for &d in shape {
            out.push(b'M');
            out.extend_from_slice(&(d as u16).to_le_bytes());
        }
        out.push(0x84 + shape.len() as u8);
        out.extend_from_slice(b"cnumpy\ndtype\nq\x04U");
        out.push(kind.len() as u8);
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(
            b"K\x00K\x01\x87Rq\x05(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T",
        );
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"tb");
    }

    pub(crate) fn pair_pickle(images: &[f32], rows: u32, labels: &[i64]) -> Vec<u8> {
        let mut out = vec![0x80, 2];
        let px: Vec<u8> = images.iter().flat_map(|v| v.to_le_bytes()).collect();
        array_pickle(&mut out, &[rows, (images.len() as u32) / rows], "f4", &px);
        let lb: Vec<u8> = labels.iter().flat_map(|v| v.to_le_bytes()).collect();
        array_pickle(&mut out, &[labels.len() as u32], "i8", &lb);
        out.push(0x86);
        out.push(b'.');
        out
    }

    #[test]
    fn reads_arrays_and_tuples() {
        let images = [0.0f32, 0.5, 1.0 / 256.0, 255.0 / 256.0, 0.25, 0.75];
        let bytes = pair_pickle(&images, 2, &[7, 3]);
        let PickleValue::Tuple(items) = parse(&bytes, "test").unwrap() else {
            panic!("not a tuple")
        };
        let [PickleValue::Array(x), PickleValue::Array(y)] = items.as_slice() else {
            panic!("not two arrays: {items:?}")
        };
        assert_eq!(x.shape, vec![2, 3]);
        assert_eq!(x.dtype, "<f4");
        assert_eq!(x.to_f32().unwrap(), images);
        assert_eq!(y.to_i64().unwrap(), vec![7, 3]);
        assert_eq!(y.to_f32(), None);
    }

    #[test]
    fn refuses_other_callables() {
        let bytes = b"\x80\x02cos\nsystem\nU\x02ls\x85R.";
        let err = parse(bytes, "evil").unwrap_err().to_string();
        assert!(err.contains("refusing GLOBAL os.system"), "{err}");
    }

    #[test]
    fn refuses_unknown_opcodes_with_offset() {
        let err = parse(b"\x80\x02}.", "dict").unwrap_err().to_string();
        assert!(err.contains("unsupported opcode 0x7d"), "{err}");
        assert!(err.contains("at byte 2"), "{err}");
    }

    #[test]
    fn truncated_and_inconsistent_streams_are_errors() {
        let bytes = pair_pickle(&[0.0; 6], 2, &[1, 2]);
        for cut in [1, 10, 60, bytes.len() / 2, bytes.len() - 1] {
            assert!(parse(&bytes[..cut], "cut").is_err(), "cut at {cut} parsed");
        }
        // A shape that promises more data than the string holds.
        let mut out = vec![0x80, 2];
        array_pickle(&mut out, &[3, 3], "f4", &[0u8; 8]);
        out.push(b'.');
        let err = parse(&out, "shape").unwrap_err().to_string();
        assert!(err.contains("needs Some(36) bytes, found 8"), "{err}");
    }

    #[test]
    fn refuses_newer_protocols() {
        let err = parse(b"\x80\x04N.", "p4").unwrap_err().to_string();
        assert!(err.contains("protocol 4"), "{err}");
    }
}
